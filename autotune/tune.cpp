// The search: compile one kernel per variant (the graph's other kernels keep their base
// code), run that kernel's step alone on the same buffers (inputs filled with a
// fixed pattern), compare its outputs with the heuristic variant's, time it (warm-up, then
// repeats within a budget, median), keep the fastest if it beats the heuristic again when
// the two are timed once more, alternating. A variant that does not compile, or computes
// something else, is rejected and logged; it can never be chosen.
#include "autotune/tune.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "autotune/variant_space.h"
#include "ir/diag.h"
#include "lowering/backend.h"
#include "lowering/compile_graph.h"
#include "lowering/schedule.h"
#include "runtime/program.h"
#include "runtime/thread_pool.h"

namespace kiln::autotune {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Inputs with values that tell elements apart (a constant would hide a wrong index).
void fill_pattern(runtime::Array &a) {
  const int64_t n = numel(a.layout.sizes);
  std::byte *base = a.storage.data() + a.layout.offset * dtype_size(a.dtype);
  visit_dtype(a.dtype, [&]<class T>() {
    T *p = reinterpret_cast<T *>(base);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t h = (i * 2654435761LL) % 2003;
      if constexpr (std::is_same_v<T, bool>)
        p[i] = (h & 1) != 0;
      else if constexpr (std::is_floating_point_v<T>)
        p[i] = static_cast<T>(h / 1001.0 - 1.0);
      else
        p[i] = static_cast<T>(h % 7);
    }
  });
}

std::string bytes_of(const runtime::Array &a) {
  const size_t size = static_cast<size_t>(numel(a.layout.sizes) * dtype_size(a.dtype));
  return std::string(
      reinterpret_cast<const char *>(a.storage.data()) + a.layout.offset * dtype_size(a.dtype),
      size);
}

// "" when got matches want (floats within 1e-4 relative for f32, 1e-9 for f64; NaN matches
// NaN; other dtypes exactly), else the first element that differs.
std::string differs(const runtime::Array &got, const std::string &want) {
  const std::string bytes = bytes_of(got);
  if (bytes == want) return "";
  if (!is_floating(got.dtype)) return "an integer or bool output differs";
  std::string out;
  visit_dtype(got.dtype, [&]<class T>() {
    if constexpr (std::is_floating_point_v<T>) {
      const T *g = reinterpret_cast<const T *>(bytes.data());
      const T *w = reinterpret_cast<const T *>(want.data());
      const double tol = sizeof(T) == 4 ? 1e-4 : 1e-9;
      for (size_t i = 0; i < bytes.size() / sizeof(T) && out.empty(); ++i) {
        const bool both_nan = std::isnan(g[i]) && std::isnan(w[i]);
        if (!both_nan &&
            !(std::abs(double(g[i]) - double(w[i])) <= tol + tol * std::abs(double(w[i]))))
          out = fmt::format("element {}: {} instead of {}", i, double(g[i]), double(w[i]));
      }
    }
  });
  return out;
}

// The knobs of `c` that differ from `base`, as "gemm_tile=4x16x128x256x1024".
std::string variant_text(const lower::KernelChoices &c, const lower::KernelChoices &base) {
  if (c == base) return "heuristic";
  lower::Choices a, b;
  a.kernel = c;
  b.kernel = base;
  std::string out;
  const std::string ta = a.text(), tb = b.text();
  size_t i = 0, j = 0;
  while (i < ta.size() && j < tb.size()) {
    const size_t ni = std::min(ta.find('\n', i), ta.size()),
                 nj = std::min(tb.find('\n', j), tb.size());
    const std::string la = ta.substr(i, ni - i), lb = tb.substr(j, nj - j);
    if (la != lb && la.starts_with("kernel.")) {
      std::string knob = la.substr(7);
      knob.erase(std::remove(knob.begin(), knob.end(), ' '), knob.end());
      out += (out.empty() ? "" : ", ") + knob;
    }
    i = ni + 1;
    j = nj + 1;
  }
  return out;
}

std::string kernel_what(const lower::Kernel &k) {
  if (k.gemm)
    return fmt::format("gemm [{}] x [{}]", fmt::join(k.gemm->a_shape, ","),
                       fmt::join(k.gemm->b_shape, ","));
  return k.accs.empty() ? "pointwise" : "row";
}

// Median of repeated runs (the caller has run it once: that was the warm-up): runs until
// the budget is spent, at least 3 unless one run alone takes several budgets.
double time_runs(const std::function<void()> &run, double budget_ms) {
  std::vector<double> times;
  const auto start = Clock::now();
  auto more = [&] {
    const double spent = ms_between(start, Clock::now());
    if (times.size() >= 200 || (!times.empty() && spent > 4 * budget_ms)) return false;
    return times.size() < 3 || spent < budget_ms;
  };
  while (more()) {
    const auto t0 = Clock::now();
    run();
    times.push_back(ms_between(t0, Clock::now()));
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

// The base program with one kernel step's code compiled for `variant`: only that kernel goes
// through the backend (a graph of many kernels costs one kernel's compile per variant), and
// only that step may run. Per-kernel choices change the kernel's GEMM tile, its code and its
// step's grain, never the graph's fusion or the kernel's loops.
std::shared_ptr<const runtime::Program> with_variant(const runtime::Program &base, size_t step,
                                                     lower::Kernel kernel,
                                                     const lower::KernelChoices &variant,
                                                     const lower::Target &target) {
  if (kernel.gemm)
    kernel.gemm->tile =
        variant.gemm_tile.value_or(lower::gemm_tile(kernel.gemm->dtype, target.vector_bytes));
  const lower::Backend &backend = lower::backend(target.backend);
  const std::string symbol = "kiln_variant";
  lower::Artifact one;
  one.name = kernel.name;
  one.target = target;
  one.kernels.push_back({.symbol = symbol,
                         .gemm = kernel.gemm.has_value(),
                         .tile = kernel.gemm ? kernel.gemm->tile : ir::GemmTile{},
                         .kernel_ir = ""});
  one.object = backend
                   .compile(std::span(&kernel, 1), std::span(&symbol, 1), std::span(&variant, 1),
                            target, false)
                   .object;
  runtime::Plan plan = base.plan();
  auto &k = std::get<runtime::KernelStep>(plan.steps[step]);
  k.code_index = 0;
  if (k.gemm) {
    k.gemm->tile = kernel.gemm->tile;
    k.gemm->parallel_work = variant.gemm_parallel_work;
    k.gemm->split_columns = variant.gemm_split_columns;
  }
  int64_t per_iteration = 1;  // the elements one iteration of the outer loop covers
  for (size_t l = 1; l < kernel.loops.size(); ++l)
    per_iteration *= kernel.loops[l].extent.constant();  // tuning runs static kernels only
  k.grain =
      std::max<int64_t>(1, variant.min_elements_per_task / std::max<int64_t>(1, per_iteration));
  return std::make_shared<const runtime::Program>(std::move(plan), backend.load(one));
}

// The cache key of one kernel's search: what decides its code and its speed.
std::string tuning_key(const lower::Artifact &a, int32_t code_index, const runtime::Plan &p,
                       size_t step, const lower::Target &target, const lower::Choices &graph,
                       const lower::KernelChoices &base, Mode mode) {
  lower::Choices c = graph;  // its graph knobs schedule the variants again
  c.per_kernel.clear();
  c.kernel = base;
  std::string shapes;
  for (int32_t s : std::get<runtime::KernelStep>(p.steps[step]).args)
    shapes += p.slots[s].type.str() + ";";
  // The thread count too: the best grain and blocking depend on it.
  return lower::content_hash(fmt::format(
      "kiln tuning 2\n{}\n{} threads={}\n{}{}\n{}\n{}", a.versions, mode_name(mode),
      runtime::num_threads(), target.text(), c.text(), a.kernels[code_index].kernel_ir, shapes));
}

// A measured table, a line per variant (the log's and the cache record's form).
std::string table_lines(const std::vector<Measured> &table, std::string_view indent) {
  std::string out;
  for (const Measured &m : table)
    out += m.why == "not tried" ? fmt::format("{}{}\n", indent, m.variant)
           : m.rejected         ? fmt::format("{}{:<48} rejected: {}\n", indent, m.variant, m.why)
                        : fmt::format("{}{:<48} {:>10.4f} ms\n", indent, m.variant, m.median_ms);
  return out;
}

// A cache record: the chosen knobs as "kernel.<knob> = <value>" lines, then the measured
// table as '#' comments (Choices::parse skips them; `kiln-cache show` prints them).
std::string tuning_record(const KernelTuning &t) {
  lower::Choices record;
  record.kernel = t.chosen;
  return fmt::format("# {} ({}): chosen {}\n{}{}", t.name, t.what, t.chosen_text, record.text(),
                     table_lines(t.table, "# "));
}

// The kernel IR of kernel `number` scheduled with `variant`: streaming stores and rows of
// scratch are decided by the scheduler, so those variants are scheduled again (fusion
// does not depend on per-kernel choices, so the numbering holds).
lower::Kernel variant_kernel(const ir::Graph &g, const lower::Target &target,
                             const lower::Choices &base, size_t number,
                             const lower::Kernel &scheduled, const lower::KernelChoices &variant) {
  const lower::KernelChoices &b = base.for_kernel(static_cast<int64_t>(number));
  if (variant.streaming == b.streaming && variant.row_scratch == b.row_scratch) return scheduled;
  lower::Choices choices = base;
  choices.per_kernel[static_cast<int64_t>(number)] = variant;
  return lower::compile_graph(g, target, choices, {.codegen = false}).kernels.at(number);
}

// A cached choice: "kernel.<knob> = <value>" lines.
std::optional<lower::KernelChoices> parse_tuning(const std::string &text) {
  try {
    return lower::Choices::parse(text).kernel;
  } catch (const Error &) {
    return std::nullopt;  // damaged: measured again and overwritten
  }
}

}  // namespace

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::Off: return "off";
    case Mode::Default: return "default";
    case Mode::Max: return "max";
  }
  return "?";
}

Result tune(const ir::Graph &g, const lower::Target &target, const lower::Choices &base,
            const Options &options) {
  const auto start = Clock::now();
  Result out{.choices = base, .kernels = {}, .ms = 0};
  if (options.mode == Mode::Off) return out;
  const double budget = options.budget_ms_per_variant > 0 ? options.budget_ms_per_variant
                        : options.mode == Mode::Max       ? 60.0
                                                          : 15.0;
  // Past this a kernel's search stops with the best so far (compiles included).
  const double kernel_budget = options.budget_ms_per_kernel > 0 ? options.budget_ms_per_kernel
                               : options.mode == Mode::Max      ? 120000.0
                                                                : 500.0;
  const double min_kernel_ms = options.min_kernel_ms >= 0      ? options.min_kernel_ms
                               : options.mode == Mode::Default ? 0.05
                                                               : 0.0;
  const lower::CompiledGraph compiled = lower::compile_graph(g, target, base);
  const std::shared_ptr<const runtime::Program> program = lower::load(compiled.artifact);
  const runtime::Plan &plan = program->plan();
  auto kernel_step = [&](size_t number) -> const runtime::KernelStep & {
    return std::get<runtime::KernelStep>(plan.steps[compiled.kernel_steps[number]]);
  };

  // Kernels that share code (a repeated block) are searched once: the first of them is
  // measured, the others take its choice.
  std::vector<std::vector<lower::KernelChoices>> spaces(compiled.kernels.size());
  std::map<std::pair<int32_t, std::string>, size_t> first_with_code;  // (code, base knobs)
  std::vector<size_t> searched;
  size_t total_variants = 0;
  for (size_t number = 0; number < compiled.kernels.size(); ++number) {
    spaces[number] = variant_space(compiled.kernels[number], target,
                                   base.for_kernel(static_cast<int64_t>(number)), options.mode,
                                   runtime::num_threads());
    if (spaces[number].size() < 2) continue;
    lower::Choices own;
    own.kernel = base.for_kernel(static_cast<int64_t>(number));
    if (first_with_code.try_emplace({kernel_step(number).code_index, own.text()}, number).second) {
      searched.push_back(number);
      total_variants += spaces[number].size();
    }
  }

  const bool progress = options.mode == Mode::Max && isatty(STDERR_FILENO) != 0;
  bool progress_printed = false;
  size_t variants_done = 0;
  for (size_t nth = 0; nth < searched.size(); ++nth) {
    const size_t number = searched[nth];
    const lower::Kernel &kernel = compiled.kernels[number];
    const size_t step = compiled.kernel_steps[number];
    const runtime::KernelStep &kstep = kernel_step(number);
    const lower::KernelChoices &kernel_base = base.for_kernel(static_cast<int64_t>(number));
    const std::vector<lower::KernelChoices> &space = spaces[number];
    KernelTuning tuning{.kernel = static_cast<int64_t>(number),
                        .name = kernel.name,
                        .what = kernel_what(kernel),
                        .from_cache = false,
                        .table = {},
                        .chosen = kernel_base,
                        .chosen_text = "heuristic"};
    const std::string key = tuning_key(compiled.artifact, kstep.code_index, plan, step, target,
                                       base, kernel_base, options.mode);
    std::string why;
    if (options.cache != nullptr && !options.cost && !options.tamper) {
      std::optional<lower::KernelChoices> chosen;
      const auto check = [&](std::string_view text) -> std::string {
        chosen = parse_tuning(std::string(text));
        return chosen ? "" : "not a tuning record";
      };
      if (options.cache->read(cache::Kind::Tuning, key, why, check)) {
        tuning.from_cache = true;
        tuning.chosen = *chosen;
        tuning.chosen_text = variant_text(*chosen, kernel_base);
      }
    }
    if (!tuning.from_cache) {
      std::vector<runtime::Array> buffers = program->step_buffers(step);
      for (size_t i = 0; i < buffers.size(); ++i)
        if (i < kstep.num_inputs || i >= kstep.args.size()) fill_pattern(buffers[i]);
      auto outputs = [&] {
        std::vector<void *> ptrs;
        for (size_t i = kstep.num_inputs; i < kstep.args.size(); ++i)
          ptrs.push_back(buffers[i].storage.data() +
                         buffers[i].layout.offset * dtype_size(buffers[i].dtype));
        return ptrs;
      };
      std::vector<std::string> want;
      double best = 0;
      std::shared_ptr<const runtime::Program> chosen_program = program;
      const auto kernel_start = Clock::now();
      for (size_t v = 0; v < space.size(); ++v) {
        // Stop before a variant that would end past the budget (at the mean pace so far),
        // once at least one has been tried beside the heuristic.
        const double spent = ms_between(kernel_start, Clock::now());
        if (v > 1 && spent + spent / static_cast<double>(v) > kernel_budget) {
          tuning.table.push_back({.variant = fmt::format("({} more not tried: over the {:.0f} ms "
                                                         "budget)",
                                                         space.size() - v, kernel_budget),
                                  .rejected = true,
                                  .why = "not tried"});
          variants_done += space.size() - v;
          break;
        }
        const lower::KernelChoices &variant = space[v];
        Measured m{.variant = variant_text(variant, kernel_base)};
        try {
          std::shared_ptr<const runtime::Program> p =
              v == 0 ? program
                     : with_variant(*program, step,
                                    variant_kernel(g, target, base, number, kernel, variant),
                                    variant, target);
          auto run = [&] { p->run_step(step, buffers); };
          run();
          if (v == 0) run();  // more warm-up for the first: its buffers were never touched
          if (options.tamper) options.tamper(tuning.kernel, variant, outputs());
          if (v == 0)
            for (size_t i = kstep.num_inputs; i < kstep.args.size(); ++i)
              want.push_back(bytes_of(buffers[i]));
          for (size_t i = kstep.num_inputs; i < kstep.args.size() && v > 0 && !m.rejected; ++i)
            if (std::string d = differs(buffers[i], want[i - kstep.num_inputs]); !d.empty()) {
              m.rejected = true;
              m.why = fmt::format("output {} differs from the heuristic's: {}",
                                  i - kstep.num_inputs, d);
            }
          if (!m.rejected) {
            const std::optional<double> cost =
                options.cost ? options.cost(tuning.kernel, variant) : std::nullopt;
            m.median_ms = cost ? *cost : time_runs(run, budget);
            if (v > 0 && m.median_ms < 0.98 * tuning.table[0].median_ms && m.median_ms < best)
              chosen_program = p;
          }
        } catch (const Error &e) {
          if (v == 0) throw;  // the heuristic must run: there is nothing to compare with
          m.rejected = true;
          m.why = fmt::format("does not compile or run: {}", e.what());
        }
        if (!m.rejected && (v == 0 || m.median_ms < best)) {
          // A variant must beat the heuristic by more than timing noise (2%) to replace it.
          if (v == 0 || m.median_ms < 0.98 * tuning.table[0].median_ms) {
            best = m.median_ms;
            tuning.chosen = variant;
            tuning.chosen_text = m.variant;
          }
        }
        const bool too_quick = v == 0 && !m.rejected && !options.cost &&
                               m.median_ms < min_kernel_ms && space.size() > 1;
        tuning.table.push_back(std::move(m));
        ++variants_done;
        if (too_quick) {
          tuning.table.push_back(
              {.variant = fmt::format("({} more not tried: the heuristic takes under {} ms)",
                                      space.size() - 1, min_kernel_ms),
               .rejected = true,
               .why = "not tried"});
          variants_done += space.size() - 1;
          break;
        }
        if (progress) {
          progress_printed = true;
          const double spent_s = ms_between(start, Clock::now()) / 1000.0;
          const double eta_s = spent_s / static_cast<double>(variants_done) *
                               static_cast<double>(total_variants - variants_done);
          fmt::print(stderr,
                     "\r[kiln:autotune] {}: kernel {}/{} ({}), variant {}/{}, {}/{} overall, "
                     "best {:.3f} ms, ETA {:.0f} s   ",
                     options.name, nth + 1, searched.size(), kernel.name, v + 1, space.size(),
                     variants_done, total_variants, best, eta_s);
        }
      }
      // A winner is timed again against the heuristic, alternating, so that a heuristic
      // measured while the machine was busier (or colder) does not lose to noise.
      if (chosen_program != program) {
        std::vector<double> heuristic_ms, chosen_ms;
        auto measure = [&](const std::shared_ptr<const runtime::Program> &p,
                           const lower::KernelChoices &c) {
          const std::optional<double> cost =
              options.cost ? options.cost(tuning.kernel, c) : std::nullopt;
          return cost ? *cost : time_runs([&] { p->run_step(step, buffers); }, budget);
        };
        for (int round = 0; round < 3; ++round) {
          heuristic_ms.push_back(measure(program, kernel_base));
          chosen_ms.push_back(measure(chosen_program, tuning.chosen));
        }
        std::sort(heuristic_ms.begin(), heuristic_ms.end());
        std::sort(chosen_ms.begin(), chosen_ms.end());
        tuning.table.push_back({.variant = "heuristic, timed again", .median_ms = heuristic_ms[1]});
        tuning.table.push_back(
            {.variant = tuning.chosen_text + ", timed again", .median_ms = chosen_ms[1]});
        if (!(chosen_ms[1] < 0.98 * heuristic_ms[1])) {
          tuning.chosen = kernel_base;
          tuning.chosen_text = "heuristic";
        }
      }
      if (options.cache != nullptr && !options.cost && !options.tamper)
        options.cache->write(cache::Kind::Tuning, key, tuning_record(tuning));
    } else {
      variants_done += space.size();
    }
    out.kernels.push_back(std::move(tuning));
  }
  if (progress_printed) fmt::print(stderr, "\n");

  // Every kernel takes the choice searched for its code and base knobs.
  std::map<size_t, const KernelTuning *> by_number;
  for (const KernelTuning &t : out.kernels) by_number[static_cast<size_t>(t.kernel)] = &t;
  for (size_t number = 0; number < compiled.kernels.size(); ++number) {
    if (spaces[number].size() < 2) continue;
    lower::Choices own;
    own.kernel = base.for_kernel(static_cast<int64_t>(number));
    const size_t first = first_with_code.at({kernel_step(number).code_index, own.text()});
    const KernelTuning &t = *by_number.at(first);
    if (!(t.chosen == own.kernel)) out.choices.per_kernel[static_cast<int64_t>(number)] = t.chosen;
  }
  out.ms = ms_between(start, Clock::now());
  return out;
}

std::string describe(const Result &r, const std::string &fn) {
  std::string out =
      fmt::format("{}: autotune searched {} kernel(s) in {:.1f} ms", fn, r.kernels.size(), r.ms);
  for (const KernelTuning &k : r.kernels) {
    out += fmt::format("\n  k{} {} ({}): chosen {}{}", k.kernel, k.name, k.what, k.chosen_text,
                       k.from_cache ? " (from the cache, not measured)" : "");
    if (!k.table.empty()) out += "\n" + table_lines(k.table, "    ");
    while (out.ends_with('\n')) out.pop_back();
  }
  return out;
}

}  // namespace kiln::autotune
