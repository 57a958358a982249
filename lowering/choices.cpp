// Choices as text, both ways. Each knob is one row of a table (name, how to print it, how to
// read it), so text(), summary() and parse() cannot disagree about a key. The defaults and
// the measurements behind them:
// - fusion.max_kernel_members 48: past it generated code grows faster to compile than it
//   gets faster to run (one more buffer round trip costs little next to 48 ops).
// - fusion.max_math_depth 1: a kernel computing two math functions in a row per element is
//   latency-bound; at two, W9-100 ran at 0.75x eager's separate passes, at one 1.4x (Zen 4).
// - fusion.max_siblings 16: bounds the sibling search (quadratic on long chains otherwise).
// - schedule.streaming_bytes 8 MiB: well past a core's L2, where writing through the cache
//   only evicts what the next kernel reads.
// - schedule.line_split 64: a 64-byte line of any dtype, so every thread's vectors start on
//   a line.
// - schedule.across_rows 8: on W5 a row of 5 runs 2x faster across rows, a row of 10 1.2x
//   faster along itself.
// - kernel.registers_per_value auto: two 64-byte registers per value, one for long bodies
//   and math functions (Zen 4, 2026-12-02: W1 82 ms at four, 36 at one).
// - kernel.min_elements_per_task 16384: below it, waking a thread costs more than it saves.
// - kernel.gemm_parallel_work 2^18 multiply-adds: below it waking the pool costs more than
//   the product itself, so a GEMM runs on one thread.
// - kernel.gemm_split rows: at 2 threads on W4's and 2048^3 products, columns measured the
//   same (Sapphire Rapids, 2026-12-07); the autotuner tries columns where threads > 1.
// - kernel.streaming, kernel.row_scratch on: together W3 went from 2.9-3.5 to 2.1-2.9 ms at
//   2 threads (Zen 4, 2026-12-02); per kernel, the autotuner tries each off where it applies.
#include "lowering/choices.h"

#include <fmt/format.h>

#include <charconv>
#include <functional>
#include <vector>

#include "ir/diag.h"

namespace kiln::lower {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

std::optional<int64_t> to_int(std::string_view s) {
  int64_t v = 0;
  const char *end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

// One knob: prints its value from a Choices-like struct, and reads one into it (returning
// what a valid value looks like when `text` is not one).
template <typename S>
struct Knob {
  std::string_view name;
  std::function<std::string(const S &)> print;
  std::function<std::string(S &, std::string_view)> read;  // "" on success, else expected
};

template <typename S>
Knob<S> int_knob(std::string_view name, int64_t S::*field, int64_t lo, int64_t hi) {
  return {name, [field](const S &s) { return fmt::format("{}", s.*field); },
          [field, lo, hi](S &s, std::string_view text) -> std::string {
            std::optional<int64_t> v = to_int(text);
            if (!v || *v < lo || *v > hi) return fmt::format("an integer in {}..{}", lo, hi);
            s.*field = *v;
            return "";
          }};
}

template <typename S>
Knob<S> bool_knob(std::string_view name, bool S::*field) {
  return {name, [field](const S &s) { return std::string(s.*field ? "true" : "false"); },
          [field](S &s, std::string_view text) -> std::string {
            if (text != "true" && text != "false") return "true or false";
            s.*field = text == "true";
            return "";
          }};
}

std::optional<ir::GemmTile> parse_tile(std::string_view text) {
  std::vector<int64_t> v;
  while (true) {
    const size_t x = text.find('x');
    std::optional<int64_t> n = to_int(text.substr(0, x));
    if (!n || *n < 1 || *n > (int64_t{1} << 20)) return std::nullopt;
    v.push_back(*n);
    if (x == std::string_view::npos) break;
    text.remove_prefix(x + 1);
  }
  if (v.size() != 5) return std::nullopt;
  return ir::GemmTile{.mr = v[0], .nr = v[1], .kc = v[2], .mc = v[3], .nc = v[4]};
}

const std::vector<Knob<Choices>> &graph_knobs() {
  static const std::vector<Knob<Choices>> knobs = [] {
    std::vector<Knob<Choices>> out;
    auto fusion = [&](std::string_view name, int64_t FusionChoices::*f, int64_t lo, int64_t hi) {
      Knob<FusionChoices> k = int_knob(name, f, lo, hi);
      out.push_back({name, [k](const Choices &c) { return k.print(c.fusion); },
                     [k](Choices &c, std::string_view t) { return k.read(c.fusion, t); }});
    };
    auto schedule = [&](Knob<ScheduleChoices> k) {
      out.push_back({k.name, [k](const Choices &c) { return k.print(c.schedule); },
                     [k](Choices &c, std::string_view t) { return k.read(c.schedule, t); }});
    };
    fusion("fusion.max_kernel_members", &FusionChoices::max_kernel_members, 1, 1 << 20);
    fusion("fusion.max_math_depth", &FusionChoices::max_math_depth, 0, 1 << 20);
    fusion("fusion.max_siblings", &FusionChoices::max_siblings, 0, 1 << 20);
    schedule(int_knob("schedule.short_row", &ScheduleChoices::short_row, 0, int64_t{1} << 40));
    schedule(int_knob("schedule.max_scratch_bytes", &ScheduleChoices::max_scratch_bytes, 0,
                      int64_t{1} << 20));
    schedule(bool_knob("schedule.streaming", &ScheduleChoices::streaming));
    schedule(int_knob("schedule.streaming_bytes", &ScheduleChoices::streaming_bytes, 0,
                      int64_t{1} << 50));
    schedule(int_knob("schedule.line_split", &ScheduleChoices::line_split, 1, 1 << 20));
    schedule(int_knob("schedule.across_rows", &ScheduleChoices::across_rows, 0, 1 << 20));
    return out;
  }();
  return knobs;
}

const std::vector<Knob<KernelChoices>> &kernel_knobs() {
  static const std::vector<Knob<KernelChoices>> knobs = {
      {"gemm_tile",
       [](const KernelChoices &k) {
         return k.gemm_tile ? gemm_tile_text(*k.gemm_tile) : std::string("auto");
       },
       [](KernelChoices &k, std::string_view text) -> std::string {
         if (text == "auto") {
           k.gemm_tile.reset();
           return "";
         }
         k.gemm_tile = parse_tile(text);
         return k.gemm_tile ? "" : "auto or MRxNRxKCxMCxNC (5 positive integers)";
       }},
      {"registers_per_value",
       [](const KernelChoices &k) {
         return k.registers_per_value == 0 ? std::string("auto")
                                           : fmt::format("{}", k.registers_per_value);
       },
       [](KernelChoices &k, std::string_view text) -> std::string {
         std::optional<int64_t> v = text == "auto" ? 0 : to_int(text);
         if (!v || (*v != 0 && *v != 1 && *v != 2 && *v != 4)) return "auto, 1, 2 or 4";
         k.registers_per_value = *v;
         return "";
       }},
      int_knob("epilogue_unroll_cost", &KernelChoices::epilogue_unroll_cost, 0, 1 << 20),
      int_knob("min_elements_per_task", &KernelChoices::min_elements_per_task, 1, int64_t{1} << 40),
      int_knob("gemm_parallel_work", &KernelChoices::gemm_parallel_work, 0, int64_t{1} << 50),
      {"gemm_split",
       [](const KernelChoices &k) {
         return std::string(k.gemm_split_columns ? "columns" : "rows");
       },
       [](KernelChoices &k, std::string_view text) -> std::string {
         if (text != "rows" && text != "columns") return "rows or columns";
         k.gemm_split_columns = text == "columns";
         return "";
       }},
      bool_knob("streaming", &KernelChoices::streaming),
      bool_knob("row_scratch", &KernelChoices::row_scratch),
  };
  return knobs;
}

}  // namespace

std::string gemm_tile_text(const ir::GemmTile &t) {
  return fmt::format("{}x{}x{}x{}x{}", t.mr, t.nr, t.kc, t.mc, t.nc);
}

const KernelChoices &Choices::for_kernel(int64_t k) const {
  auto it = per_kernel.find(k);
  return it == per_kernel.end() ? kernel : it->second;
}

std::string Choices::text() const {
  std::string out;
  for (const auto &knob : graph_knobs())
    out += fmt::format("{} = {}\n", knob.name, knob.print(*this));
  for (const auto &knob : kernel_knobs())
    out += fmt::format("kernel.{} = {}\n", knob.name, knob.print(kernel));
  for (const auto &[k, choices] : per_kernel)
    if (!(choices == kernel))  // the same as no entry: keys must not tell them apart
      for (const auto &knob : kernel_knobs())
        out += fmt::format("k{}.{} = {}\n", k, knob.name, knob.print(choices));
  return out;
}

std::string Choices::summary() const {
  const Choices defaults;
  std::string out;
  auto add = [&](std::string_view key, const std::string &value, const std::string &fallback) {
    if (value != fallback) out += fmt::format("{}{} = {}", out.empty() ? "" : "; ", key, value);
  };
  for (const auto &knob : graph_knobs()) add(knob.name, knob.print(*this), knob.print(defaults));
  for (const auto &knob : kernel_knobs())
    add(fmt::format("kernel.{}", knob.name), knob.print(kernel), knob.print(defaults.kernel));
  for (const auto &[k, choices] : per_kernel)
    for (const auto &knob : kernel_knobs())
      add(fmt::format("k{}.{}", k, knob.name), knob.print(choices), knob.print(kernel));
  return out.empty() ? "defaults" : out;
}

Choices Choices::parse(std::string_view text) {
  Choices out;
  std::vector<std::pair<int64_t, std::pair<std::string, std::string>>> later;  // k<N> lines
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos)
      fail("choices line {}: expected 'key = value', got '{}'", line_no, line);
    const std::string key = trim(std::string_view(line).substr(0, eq));
    const std::string value = trim(std::string_view(line).substr(eq + 1));
    auto bad = [&](const std::string &expected) {
      fail("choices line {}: {} = '{}': expected {}", line_no, key, value, expected);
    };
    bool known = false;
    for (const auto &knob : graph_knobs())
      if (knob.name == key) {
        known = true;
        if (std::string e = knob.read(out, value); !e.empty()) bad(e);
      }
    const size_t dot = key.find('.');
    const std::string scope = key.substr(0, dot),
                      name = dot == std::string::npos ? "" : key.substr(dot + 1);
    std::optional<int64_t> kernel_no;
    if (scope.size() > 1 && scope[0] == 'k' && scope != "kernel") {
      kernel_no = to_int(std::string_view(scope).substr(1));
      if (!kernel_no || *kernel_no < 0)
        fail("choices line {}: unknown key '{}' (per-kernel keys are k<N>.<knob>)", line_no, key);
    }
    if (!known && (scope == "kernel" || kernel_no))
      for (const auto &knob : kernel_knobs())
        if (knob.name == name) {
          known = true;
          if (kernel_no) {
            later.push_back({*kernel_no, {name, value}});
            KernelChoices probe;
            if (std::string e = knob.read(probe, value); !e.empty()) bad(e);
          } else if (std::string e = knob.read(out.kernel, value); !e.empty()) {
            bad(e);
          }
        }
    if (!known) {
      std::vector<std::string> keys;
      for (const auto &knob : graph_knobs()) keys.emplace_back(knob.name);
      for (const auto &knob : kernel_knobs()) keys.push_back(fmt::format("kernel.{}", knob.name));
      fail("choices line {}: unknown key '{}': expected one of {} (or k<N>.<kernel knob>)", line_no,
           key, fmt::join(keys, ", "));
    }
  }
  // Per-kernel entries start from the kernel defaults, wherever those lines were.
  for (const auto &[k, kv] : later) {
    auto [it, fresh] = out.per_kernel.try_emplace(k, out.kernel);
    for (const auto &knob : kernel_knobs())
      if (knob.name == kv.first) (void)knob.read(it->second, kv.second);
  }
  std::erase_if(out.per_kernel, [&](const auto &kv) { return kv.second == out.kernel; });
  return out;
}

}  // namespace kiln::lower
