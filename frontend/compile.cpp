// compile(): the table of compiled entries behind a CompiledFunction. A call checks each
// entry's guards (under a shared lock); a miss traces the function with proxy arguments,
// optimises the graph and adds an entry (one compile at a time per function), or, past
// the recompile limit or by stance, runs the function eagerly and says why.
#include "kiln/compile.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "build_program.h"
#include "dispatch.h"
#include "dynamic_shapes.h"
#include "generator.h"
#include "guards/guard_set.h"
#include "ir/diag.h"
#include "ir/pipeline.h"
#include "ir/printer.h"
#include "ir/settings.h"
#include "ir/substitute_sizes.h"
#include "runtime/evaluate.h"
#include "runtime/resize_program.h"
#include "tracer/trace.h"

namespace kiln::detail {
namespace {

// A dynamic entry at one call's sizes: its program (Backend::Cpu) or graph (Reference).
struct Instance {
  std::shared_ptr<const runtime::Program> program;
  ir::Graph graph;
};

// A call's symbol sizes (unused symbols 0): the key of a dynamic entry's instances.
using SymbolSizes = std::array<int64_t, guards::kMaxSymbols>;

// What a dynamic entry knows beyond a static one: the witness sizes its graph and program
// were made at, the trace before passes (each new size is checked against it), and the
// sizes seen so far (nullptr: the function traces differently there, so those sizes get
// an entry of their own).
struct DynamicState {
  std::vector<int64_t> witnesses;
  ir::Graph traced;
  std::shared_mutex mutex;
  std::map<SymbolSizes, std::shared_ptr<const Instance>> instances;
};

struct Entry {
  guards::GuardSet guards;
  bool compiled = false;
  ir::Graph graph;
  std::vector<runtime::Array> captured;
  std::string break_op, break_reason;
  BuiltProgram built;  // Backend::Cpu; otherwise the graph runs in the reference evaluator
  std::unique_ptr<DynamicState> dynamic;  // null for a static entry
};

// A graph traced from the user's function, before any pass.
struct Traced {
  ir::Graph graph;
  std::vector<runtime::Array> captured;
};

// Distinct sizes a dynamic entry remembers; past this it forgets them and checks again.
constexpr size_t kMaxInstances = 256;

// (argument row, dim) pairs: the dims dynamic shapes may make symbols.
using DimList = std::vector<std::pair<int32_t, int32_t>>;


// Flattened arguments: one guard row per tensor (a vector<Tensor> contributes one per
// element, named "xs[i]") and per scalar.
struct Flat {
  std::vector<guards::ArgDesc> descs;
  std::vector<std::string> names;
  std::vector<const Tensor *> tensors;  // parallel to the tensor rows of descs
};

// `name` may be empty on the call path; an error then re-flattens with names to say which.
guards::ArgDesc describe(const Tensor &t, std::string_view fn, const std::string &name) {
  if (!t.defined()) fail("{}: tensor '{}' is undefined", fn, name);
  if (t.impl().trace != nullptr)
    fail("{}: tensor '{}' is a tracing proxy of another compiled function", fn, name);
  return {guards::ArgDesc::Kind::Tensor, t.dtype(), t.device(), t.sizes(), t.strides(), 0, 0.0};
}

// Names are for tracing and messages; the call path (with_names=false) skips building them.
Flat flatten(std::span<const Arg> args, const CompileOptions &opt, bool with_names) {
  Flat f;
  size_t rows = 0;  // reserved up front: growing the lists was a third of a call's allocations
  for (const Arg &a : args)
    rows += 1 + (std::holds_alternative<std::vector<Tensor>>(a) ? std::get<std::vector<Tensor>>(a).size() : 0);
  f.descs.reserve(rows);
  f.tensors.reserve(rows);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string name = !with_names ? std::string()
                             : i < opt.arg_names.size() ? opt.arg_names[i]
                                                        : fmt::format("arg{}", i);
    std::visit(
        [&](const auto &a) {
          using A = std::decay_t<decltype(a)>;
          guards::ArgDesc d;
          if constexpr (std::is_same_v<A, Tensor>) {
            f.descs.push_back(describe(a, opt.name, name));
            if (with_names) f.names.push_back(name);
            f.tensors.push_back(&a);
            return;
          } else if constexpr (std::is_same_v<A, std::vector<Tensor>>) {
            d.kind = guards::ArgDesc::Kind::Int;  // the list length is guarded too
            d.int_value = static_cast<int64_t>(a.size());
            f.descs.push_back(d);
            if (with_names) f.names.push_back(name + ".size()");
            for (size_t k = 0; k < a.size(); ++k) {
              std::string item = with_names ? fmt::format("{}[{}]", name, k) : std::string();
              f.descs.push_back(describe(a[k], opt.name, item));
              if (with_names) f.names.push_back(item);
              f.tensors.push_back(&a[k]);
            }
            return;
          } else if constexpr (std::is_same_v<A, bool>) {
            d.kind = guards::ArgDesc::Kind::Bool;
            d.int_value = a;
          } else if constexpr (std::is_same_v<A, int64_t>) {
            d.kind = guards::ArgDesc::Kind::Int;
            d.int_value = a;
          } else {
            d.kind = guards::ArgDesc::Kind::Double;
            d.double_value = a;
          }
          f.descs.push_back(d);
          if (with_names) f.names.push_back(name);
        },
        args[i]);
  }
  return f;
}

// Whether two traces captured the same tensors: closure weights are the same arrays in
// every trace, while a tensor the function makes from data is new each time.
bool same_captures(const std::vector<runtime::Array> &a, const std::vector<runtime::Array> &b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].storage.data() != b[i].storage.data() || a[i].dtype != b[i].dtype ||
        a[i].layout.sizes != b[i].layout.sizes || a[i].layout.strides != b[i].layout.strides ||
        a[i].layout.offset != b[i].layout.offset)
      return false;
  return true;
}

// "'x' dim 0, 'y' dim 0" for logs.
std::string describe_dims(const Flat &f, const DimList &dims) {
  std::vector<std::string> parts;
  for (auto [row, dim] : dims) parts.push_back(fmt::format("'{}' dim {}", f.names[row], dim));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// A name the IR text accepts: letters, digits, '_' and '.', not starting with a digit.
std::string sanitize(std::string_view name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
  return out;
}

// Writes one stage of one compiled entry to KILN_DUMP_DIR as <fn>.<entry>.<file>.
void dump(const std::string &fn, int entry, const std::string &file, const std::string &text) {
  const std::string dir = dump_dir();
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const auto path = std::filesystem::path(dir) / fmt::format("{}.{}.{}", sanitize(fn), entry, file);
  std::ofstream out(path);
  out << text;
  if (ec || !out) warn(fmt::format("KILN_DUMP_DIR: cannot write '{}'", path.string()));
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

struct CompiledCore::State {
  CompileOptions options;
  std::shared_mutex entries_mutex;
  std::vector<std::shared_ptr<const Entry>> entries;
  std::mutex compile_mutex;  // one trace at a time per function
  std::atomic<bool> warned_limit{false};
  int traces = 0;
  std::set<DimList> failed_dynamic;  // candidate dims tried in vain

  // The entry whose guards hold. A dynamic entry comes with its instance for the call's
  // sizes, or with none when those sizes are new (`bindings` then holds them).
  struct Hit {
    std::shared_ptr<const Entry> entry;
    std::shared_ptr<const Instance> instance;
    SymbolSizes bindings{};
    explicit operator bool() const { return entry != nullptr; }
  };

  // The first entry that holds. A dynamic entry at sizes it has not run yet is returned
  // (without an instance) only when no later entry holds outright.
  Hit find(const Flat &f) {
    std::shared_lock lock(entries_mutex);
    Hit unknown;
    for (const auto &e : entries) {
      if (!e->dynamic) {
        if (e->guards.check(f.descs)) return {e, nullptr, {}};
        continue;
      }
      SymbolSizes sizes{};
      if (!e->guards.check(f.descs, sizes)) continue;
      std::fill(sizes.begin() + e->guards.num_symbols(), sizes.end(), 0);
      std::shared_lock dyn_lock(e->dynamic->mutex);
      auto it = e->dynamic->instances.find(sizes);
      if (it == e->dynamic->instances.end()) {
        if (!unknown) unknown = {e, nullptr, sizes};
      } else if (it->second) {
        return {e, it->second, {}};
      }
    }
    return unknown;
  }

  // One reason per cached entry, closest first.
  std::vector<std::string> miss_reasons(const Flat &f) {
    std::vector<guards::GuardSet::Miss> misses;
    {
      std::shared_lock lock(entries_mutex);
      for (const auto &e : entries) misses.push_back(e->guards.explain_miss(f.descs));
    }
    std::stable_sort(misses.begin(), misses.end(), [](auto &a, auto &b) { return a.passed > b.passed; });
    std::vector<std::string> out;
    for (auto &m : misses)
      if (m.reason != "no guard failed") out.push_back(std::move(m.reason));
    return out;
  }

  Traced trace_graph(std::span<const Arg> args, const Flat &f, const Invoke &invoke,
                     std::span<const guards::SymbolicDim> symbols, std::span<const int64_t> sizes);
  std::shared_ptr<const Entry> trace(std::span<const Arg> args, const Flat &f, const Invoke &invoke);
  std::shared_ptr<const Entry> trace_dynamic(std::span<const Arg> args, const Flat &f, const Invoke &invoke,
                                             const DimList &candidates, std::string &why);
  void optimise(Entry &entry, Traced traced, int index, double trace_ms);
  void lower(Entry &entry, int index, std::vector<int32_t> kernel_symbols = {}) const;
  std::vector<DimList> dynamic_candidates(const Flat &f);
  std::shared_ptr<const Instance> admit_sizes(const Entry &e, const SymbolSizes &sizes,
                                              std::span<const Arg> args, const Flat &f, const Invoke &invoke,
                                              std::string &why);
  Hit lookup_or_compile(std::span<const Arg> args, const Flat &f, const Invoke &invoke);
};

// Runs the function on proxy arguments: each tensor becomes a graph input (with the given
// symbols' sizes in place of its own); scalars stay plain values, constants of the entry.
Traced CompiledCore::State::trace_graph(std::span<const Arg> args, const Flat &f, const Invoke &invoke,
                                        std::span<const guards::SymbolicDim> symbols,
                                        std::span<const int64_t> sizes) {
  tracer::Trace trace(sanitize(options.name));
  trace.graph.device = Device::cpu();
  std::vector<Arg> proxies(args.begin(), args.end());
  std::vector<size_t> tensor_rows;
  for (size_t i = 0; i < f.descs.size(); ++i)
    if (f.descs[i].kind == guards::ArgDesc::Kind::Tensor) tensor_rows.push_back(i);
  size_t next = 0;
  auto make_proxy = [&](const Tensor &t) {
    const size_t row = tensor_rows[next++];
    Shape shape = t.sizes();
    for (const guards::SymbolicDim &s : symbols)
      if (s.row == static_cast<int32_t>(row)) shape[s.dim] = sizes[s.symbol];
    ir::ValueId v = trace.graph.add_input(sanitize(f.names[row]), {t.dtype(), shape});
    auto impl = std::make_shared<TensorImpl>();
    impl->dtype = t.dtype();
    impl->layout = runtime::Layout::contiguous(shape);
    impl->trace = &trace;
    impl->value = v;
    return Tensor(std::move(impl));
  };
  for (Arg &a : proxies) {
    if (auto *t = std::get_if<Tensor>(&a)) *t = make_proxy(*t);
    if (auto *ts = std::get_if<std::vector<Tensor>>(&a))
      for (Tensor &t : *ts) t = make_proxy(t);
  }
  for (size_t i = 0; i < f.descs.size(); ++i)
    if (f.descs[i].kind != guards::ArgDesc::Kind::Tensor)
      trace.graph.scalar_guards.push_back({sanitize(f.names[i]), guards::format_scalar(f.descs[i])});

  tracer::Scope scope(trace);
  std::vector<Tensor> outs = invoke(proxies);
  for (const Tensor &out : outs) {
    if (!out.defined()) fail("{}: the function returned an undefined tensor", options.name);
    const TensorImpl &impl = out.impl();
    trace.graph.outputs.push_back(impl.trace == &trace ? impl.value : trace.capture(out.impl_ptr(), impl));
  }
  return {std::move(trace.graph), std::move(trace.captured)};
}

std::shared_ptr<const Entry> CompiledCore::State::trace(std::span<const Arg> args, const Flat &f,
                                                        const Invoke &invoke) {
  const auto t0 = std::chrono::steady_clock::now();
  const int index = traces++;
  auto entry = std::make_shared<Entry>();
  entry->guards = guards::GuardSet::capture(f.descs, f.names);
  Traced traced;
  try {
    traced = trace_graph(args, f, invoke, {}, {});
  } catch (const tracer::GraphBreak &brk) {
    entry->break_op = brk.op();
    entry->break_reason = brk.reason();
    if (log_enabled(LogTopic::Breaks))
      log_line(LogTopic::Breaks, fmt::format("{}: graph break at '{}': {}; this guard set runs eagerly",
                                             options.name, brk.op(), brk.reason()));
    return entry;
  }
  optimise(*entry, std::move(traced), index, ms_since(t0));
  if (options.backend == Backend::Cpu && have_cpu_backend()) lower(*entry, index);
  return entry;
}

// Passes, with their logs and dumps; a dynamic entry's text shows its symbols.
void CompiledCore::State::optimise(Entry &entry, Traced traced, int index, double trace_ms) {
  const auto passes_start = std::chrono::steady_clock::now();
  const std::vector<int64_t> witnesses = entry.dynamic ? entry.dynamic->witnesses : std::vector<int64_t>{};
  auto text = [&](const ir::Graph &g) { return ir::symbolize_text(ir::print(g), witnesses); };
  entry.compiled = true;
  entry.captured = std::move(traced.captured);
  entry.graph = std::move(traced.graph);
  const std::string traced_text = text(entry.graph);
  if (log_enabled(LogTopic::Graph)) log_line(LogTopic::Graph, fmt::format("{} traced:\n{}", options.name, traced_text));
  int step = 0;
  dump(options.name, index, fmt::format("{:02}-traced.kir", step++), traced_text);
  ir::run_pipeline(entry.graph, ir::default_pipeline(), [&](std::string_view pass, bool changed, const ir::Graph &g) {
    if (changed) dump(options.name, index, fmt::format("{:02}-{}.kir", step, pass), text(g));
    ++step;
  });
  if (log_enabled(LogTopic::Graph))
    log_line(LogTopic::Graph, fmt::format("{} optimised:\n{}", options.name, text(entry.graph)));
  std::string guard_text;
  for (const std::string &g : entry.guards.describe()) guard_text += g + "\n";
  if (log_enabled(LogTopic::Guards)) log_line(LogTopic::Guards, fmt::format("{} guards:\n{}", options.name, guard_text));
  dump(options.name, index, "guards.txt", guard_text);
  if (log_enabled(LogTopic::CompileTime))
    log_line(LogTopic::CompileTime, fmt::format("{}: trace {:.3f} ms, passes {:.3f} ms ({} nodes)", options.name,
                                                trace_ms, ms_since(passes_start), entry.graph.nodes.size()));
}

// Fusion and code generation for Backend::Cpu, with their logs and dumps.
void CompiledCore::State::lower(Entry &entry, int index, std::vector<int32_t> kernel_symbols) const {
  const bool dumping = !dump_dir().empty();
  entry.built = build_program(entry.graph, {.keep_text = dumping || log_enabled(LogTopic::Kernels),
                                            .kernel_symbols = std::move(kernel_symbols)});
  BuiltProgram &b = entry.built;
  if (entry.dynamic) {
    b.fused = ir::symbolize_text(b.fused, entry.dynamic->witnesses);
    b.kernels = ir::symbolize_text(b.kernels, entry.dynamic->witnesses, true);
  }
  if (log_enabled(LogTopic::Fused)) log_line(LogTopic::Fused, fmt::format("{} fused:\n{}", options.name, b.fused));
  if (log_enabled(LogTopic::Kernels))
    log_line(LogTopic::Kernels, fmt::format("{} kernels:\n{}", options.name, b.kernels));
  if (log_enabled(LogTopic::CompileTime)) log_line(LogTopic::CompileTime, fmt::format("{}: {}", options.name, b.timing));
  dump(options.name, index, "fused.kir", b.fused);
  dump(options.name, index, "kernels.txt", b.kernels);
  dump(options.name, index, "llvm.ll", b.llvm_ir);
  dump(options.name, index, "llvm-opt.ll", b.llvm_ir_optimized);
  dump(options.name, index, "asm.s", b.assembly);
}

// Traces at two witness sets and keeps the result only if graph and kernels hold for
// every size of the symbols; otherwise says why in `why` and returns null.
std::shared_ptr<const Entry> CompiledCore::State::trace_dynamic(
    std::span<const Arg> args, const Flat &f, const Invoke &invoke, const DimList &candidates, std::string &why) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<guards::SymbolicDim> symbols = assign_symbols(f.descs, candidates);
  if (symbols.empty()) return nullptr;
  int n = 0;
  for (const auto &s : symbols) n = std::max(n, s.symbol + 1);
  const std::vector<int64_t> w0 = ir::witness_sizes(n, 0), w1 = ir::witness_sizes(n, 1);
  // Anything that fails on the way (a shape error at witness sizes, a backend error) only
  // means these dims stay static; the static trace that follows reports real errors.
  try {
    GeneratorCheckpoint keep_random_stream;
    Traced a = trace_graph(args, f, invoke, symbols, w0);
    Traced b = trace_graph(args, f, invoke, symbols, w1);
    if (!same_captures(a.captured, b.captured)) {
      why = "the function makes tensors from data while tracing (they would be constants of one size)";
      return nullptr;
    }
    ir::Graph ga = a.graph, gb = b.graph;
    ir::run_pipeline(ga, ir::default_pipeline());
    ir::run_pipeline(gb, ir::default_pipeline());
    if (ir::print(ir::substitute(gb, {w1, w0})) != ir::print(ga)) {
      why = "the function uses a dynamic size other than as a size (a mean over it, a shape or constant "
            "computed from it)";
      return nullptr;
    }
    for (ir::ValueId v = 0; v < ga.num_values(); ++v)
      if (numel(ga.type(v).shape) > (int64_t{1} << 52)) {  // byte counts at witness sizes stay in int64
        why = "too many symbols in one tensor";
        return nullptr;
      }
    std::vector<int32_t> kernel_symbols;
    const bool codegen = options.backend == Backend::Cpu && have_cpu_backend();
    if (codegen) {
      why = generalize_kernels(build_program(ga, {.codegen = false}), build_program(gb, {.codegen = false}), w0,
                               w1, kernel_symbols);
      if (!why.empty()) return nullptr;
    }
    const int index = traces++;
    auto entry = std::make_shared<Entry>();
    entry->guards = guards::GuardSet::capture(f.descs, f.names, symbols);
    entry->dynamic = std::make_unique<DynamicState>();
    entry->dynamic->witnesses = w0;
    entry->dynamic->traced = a.graph;
    optimise(*entry, std::move(a), index, ms_since(t0));
    if (codegen) lower(*entry, index, std::move(kernel_symbols));
    return entry;
  } catch (const tracer::GraphBreak &brk) {
    why = fmt::format("tracing with symbolic sizes stopped at '{}'", brk.op());
  } catch (const std::exception &e) {
    const std::string_view msg = e.what();
    why = fmt::format("tracing with symbolic sizes failed: {}",
                      ir::symbolize_text(ir::symbolize_text(msg.substr(0, msg.find('\n')), w0), w1));
  }
  return nullptr;
}

// Sets of dims to try making symbolic for this call, best first: in Auto, those that
// differ from (or are already symbolic in) an entry whose arguments have the same kinds
// and ranks; in On, on the first compile, every dim, then only the leading ones.
std::vector<DimList> CompiledCore::State::dynamic_candidates(const Flat &f) {
  std::vector<DimList> out;
  std::shared_lock lock(entries_mutex);
  if (options.dynamic == Dynamic::On && entries.empty()) {
    DimList all, leading;
    for (size_t row = 0; row < f.descs.size(); ++row)
      for (size_t d = 0; d < f.descs[row].sizes.size(); ++d) {
        all.push_back({static_cast<int32_t>(row), static_cast<int32_t>(d)});
        if (d == 0) leading.push_back(all.back());
      }
    out = {all, leading};
  }
  if (options.dynamic == Dynamic::Off || entries.empty()) return out;
  std::set<std::pair<int32_t, int32_t>> dims;
  for (const auto &e : entries)
    for (auto rd : e->guards.changed_dims(f.descs)) dims.insert(rd);
  if (!dims.empty()) out.push_back(DimList(dims.begin(), dims.end()));
  return out;
}

// Whether a dynamic entry holds at sizes it has not run before: the function traced at
// these sizes must be the entry's trace with the symbols replaced by them (a function
// that branches on a size traces differently). Remembers the answer either way.
std::shared_ptr<const Instance> CompiledCore::State::admit_sizes(const Entry &e, const SymbolSizes &sizes,
                                                                 std::span<const Arg> args, const Flat &f,
                                                                 const Invoke &invoke, std::string &why) {
  const size_t n = e.dynamic->witnesses.size();
  const ir::SizeMap to_call{e.dynamic->witnesses, std::span<const int64_t>(sizes.data(), n)};
  std::vector<std::string> bound;
  for (size_t k = 0; k < n; ++k) bound.push_back(fmt::format("s{}={}", k, sizes[k]));
  std::shared_ptr<Instance> instance;
  why = fmt::format("the dynamic entry does not hold at {}: the function traces a different graph there",
                    fmt::join(bound, ", "));
  try {
    GeneratorCheckpoint keep_random_stream;
    const Traced t = trace_graph(args, f, invoke, {}, {});
    if (!same_captures(t.captured, e.captured))
      why = fmt::format("the dynamic entry does not hold at {}: the function makes tensors from data while "
                        "tracing (they would be constants of one size)", fmt::join(bound, ", "));
    else if (ir::print(t.graph) == ir::print(ir::substitute(e.dynamic->traced, to_call)))
      instance = std::make_shared<Instance>();
  } catch (const tracer::GraphBreak &brk) {
    why = fmt::format("the dynamic entry does not hold at {}: tracing stops at '{}' there", fmt::join(bound, ", "),
                      brk.op());
  }
  if (instance) {
    why.clear();
    if (e.built.program) instance->program = runtime::resize_program(*e.built.program, to_call);
    else instance->graph = ir::substitute(e.graph, to_call);
  }
  std::unique_lock lock(e.dynamic->mutex);
  if (e.dynamic->instances.size() >= kMaxInstances)  // forget the sizes that held, keep the refusals
    std::erase_if(e.dynamic->instances, [](const auto &kv) { return kv.second != nullptr; });
  e.dynamic->instances[sizes] = instance;
  return instance;
}

CompiledCore::State::Hit CompiledCore::State::lookup_or_compile(std::span<const Arg> args, const Flat &f,
                                                                const Invoke &invoke) {
  Hit hit = find(f);
  if (hit && (hit.instance || !hit.entry->dynamic)) return hit;
  std::lock_guard compile_lock(compile_mutex);
  const Flat named = f.names.size() == f.descs.size() ? f : flatten(args, options, true);
  std::string rejected;
  for (hit = find(f); hit && hit.entry->dynamic && !hit.instance; hit = find(f)) {
    if (auto instance = admit_sizes(*hit.entry, hit.bindings, args, named, invoke, rejected)) {
      hit.instance = std::move(instance);
      return hit;
    }
  }
  if (hit) return hit;  // another thread compiled it meanwhile
  size_t count;
  {
    std::shared_lock lock(entries_mutex);
    count = entries.size();
  }
  if (count > 0) {
    std::vector<std::string> reasons = miss_reasons(f);
    if (!rejected.empty()) reasons.insert(reasons.begin(), rejected);
    const std::string why = fmt::format("{}", fmt::join(reasons, "; "));
    if (options.stance == Stance::FailOnRecompile)
      fail("{}: recompiling is not allowed (stance fail_on_recompile): {}", options.name, why);
    if (options.stance == Stance::EagerOnRecompile) return {};
    if (static_cast<int>(count) >= options.recompile_limit) {
      if (!warned_limit.exchange(true))
        warn(fmt::format("{}: hit the recompile limit ({}); new guard sets run eagerly. Last reason: {}",
                         options.name, options.recompile_limit, why));
      return {};
    }
    if (log_enabled(LogTopic::Recompiles))
      log_line(LogTopic::Recompiles, fmt::format("recompiling {}: {}", options.name, why));
  }
  std::shared_ptr<const Entry> entry;
  for (const auto &candidates : dynamic_candidates(named)) {
    if (entry || !rejected.empty() || failed_dynamic.contains(candidates)) continue;
    std::string why;
    entry = trace_dynamic(args, named, invoke, candidates, why);
    if (entry || why.empty()) continue;
    failed_dynamic.insert(candidates);
    if (log_enabled(LogTopic::Recompiles))
      log_line(LogTopic::Recompiles, fmt::format("{}: dynamic shapes: {} cannot all be symbols: {}", options.name,
                                                 describe_dims(named, candidates), why));
  }
  if (!entry) entry = trace(args, named, invoke);
  {
    std::unique_lock lock(entries_mutex);
    entries.push_back(entry);
  }
  if (!entry->dynamic) return {entry, nullptr, {}};
  Hit made = find(f);
  std::string unused;
  if (made.entry == entry && !made.instance) made.instance = admit_sizes(*entry, made.bindings, args, named, invoke, unused);
  if (made.entry == entry && made.instance) return made;
  // The function traces differently at this call's own sizes than at the witnesses (it
  // branches on a size): these sizes get a static entry of their own, within the limit.
  if (static_cast<int>(count) + 1 >= options.recompile_limit) return {};
  auto fixed = trace(args, named, invoke);
  std::unique_lock lock(entries_mutex);
  entries.push_back(fixed);
  return {fixed, nullptr, {}};
}

CompiledCore::CompiledCore(CompileOptions options) : state_(std::make_unique<State>()) {
  if (options.backend == Backend::Cuda)
    fail("{}: backend cuda is not available: kiln has no CUDA backend yet", options.name);
  if (options.recompile_limit < 0)
    fail("{}: recompile_limit must be non-negative, got {}", options.name, options.recompile_limit);
  static std::once_flag said;
  if (options.backend == Backend::Cpu && !have_cpu_backend())
    std::call_once(said, [] {
      warn("this kiln was built without LLVM (-Dllvm=disabled): compiled graphs run on the "
           "reference evaluator");
    });
  state_->options = std::move(options);
}

CompiledCore::~CompiledCore() = default;

std::vector<Tensor> CompiledCore::call(std::span<const Arg> args, const Invoke &invoke) {
  const CompileOptions &opt = state_->options;
  if (opt.backend == Backend::Eager || opt.stance == Stance::ForceEager) return invoke(args);
  // Called while another compiled function is being traced: trace straight through, so
  // the inner function becomes part of the outer graph (and recursion cannot deadlock).
  if (tracer::active() != nullptr) return invoke(args);
  Flat f;
  try {
    f = flatten(args, opt, false);
  } catch (const Error &) {
    f = flatten(args, opt, true);  // throws again, naming the argument
  }
  const State::Hit hit = state_->lookup_or_compile(args, f, invoke);
  const Entry *entry = hit.entry.get();
  if (!entry || !entry->compiled) return invoke(args);
  const runtime::Program *program = hit.instance ? hit.instance->program.get() : entry->built.program.get();
  const ir::Graph &graph = hit.instance ? hit.instance->graph : entry->graph;

  std::vector<runtime::Array> outs;
  if (program) {
    std::vector<const runtime::Array *> inputs;
    inputs.reserve(f.tensors.size() + entry->captured.size());
    for (const Tensor *t : f.tensors) inputs.push_back(&t->impl());
    for (const runtime::Array &c : entry->captured) inputs.push_back(&c);
    outs = program->run(inputs);
  } else {
    std::vector<runtime::Array> inputs;
    inputs.reserve(f.tensors.size() + entry->captured.size());
    for (const Tensor *t : f.tensors) inputs.push_back(t->impl());
    inputs.insert(inputs.end(), entry->captured.begin(), entry->captured.end());
    outs = runtime::evaluate(graph, inputs);
  }
  std::vector<Tensor> result;
  result.reserve(outs.size());
  for (runtime::Array &a : outs) {
    auto impl = std::make_shared<TensorImpl>();
    static_cast<runtime::Array &>(*impl) = std::move(a);
    result.emplace_back(std::move(impl));
  }
  return result;
}

Explanation CompiledCore::explain(std::span<const Arg> args, const Invoke &invoke) {
  const CompileOptions &opt = state_->options;
  Explanation ex;
  ex.name = opt.name;
  State::Hit hit;
  if (opt.backend != Backend::Eager && opt.stance != Stance::ForceEager) {
    Flat f = flatten(args, opt, true);
    hit = state_->lookup_or_compile(args, f, invoke);
  }
  std::shared_lock lock(state_->entries_mutex);
  for (const auto &e : state_->entries) {
    Explanation::Entry out;
    out.guards = e->guards.describe();
    out.compiled = e->compiled;
    out.break_op = e->break_op;
    out.break_reason = e->break_reason;
    const std::vector<int64_t> witnesses = e->dynamic ? e->dynamic->witnesses : std::vector<int64_t>{};
    if (e->dynamic) {
      out.symbols = e->guards.num_symbols();
      std::shared_lock dyn_lock(e->dynamic->mutex);
      for (const auto &[sizes, instance] : e->dynamic->instances) out.sizes_seen += instance != nullptr;
    }
    if (e->compiled) {
      ++ex.graphs;
      out.graph = ir::symbolize_text(ir::print(e->graph), witnesses);
      std::map<std::string, int> counts;
      for (const ir::Node &n : e->graph.nodes) ++counts[std::string(op_name(n.op))];
      out.op_counts.assign(counts.begin(), counts.end());
      if (const auto &built = e->built.program) {
        out.fused = e->built.fused;
        out.kernels = e->built.kernel_count;
        out.library_steps = static_cast<int>(built->steps.size()) - e->built.kernel_count;
        // A dynamic entry's memory depends on the sizes: those of explain()'s arguments.
        const runtime::Program *program = !e->dynamic ? built.get()
                                          : hit.entry == e && hit.instance ? hit.instance->program.get()
                                                                           : nullptr;
        if (program) {
          out.peak_bytes = program->peak_bytes();
          out.arena_bytes = program->arena_bytes;
          out.unshared_bytes = program->unshared_bytes;
        }
      }
    } else {
      ++ex.graph_breaks;
    }
    ex.entries.push_back(std::move(out));
  }
  return ex;
}

}  // namespace kiln::detail

namespace kiln {

std::string Explanation::str() const {
  std::string out = fmt::format("{}: {} graph(s), {} graph break(s)\n", name, graphs, graph_breaks);
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry &e = entries[i];
    out += fmt::format("entry {}: {}\n", i, e.compiled ? "compiled" : "runs eagerly");
    if (e.symbols > 0) out += fmt::format("  dynamic: {} symbol(s), {} size(s) run so far\n", e.symbols, e.sizes_seen);
    if (!e.compiled) out += fmt::format("  graph break at '{}': {}\n", e.break_op, e.break_reason);
    out += "  guards:\n";
    for (const std::string &g : e.guards) out += "    " + g + "\n";
    if (!e.compiled) continue;
    std::vector<std::string> counts;
    for (const auto &[op, n] : e.op_counts) counts.push_back(fmt::format("{} {}", op, n));
    out += fmt::format("  ops: {}\n", fmt::join(counts, ", "));
    auto indented = [&](std::string_view text) {
      while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        out += line.empty() ? "\n" : fmt::format("    {}\n", line);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      }
    };
    out += "  graph:\n";
    indented(e.graph);
    if (e.fused.empty()) continue;
    out += fmt::format("  kernels: {}; library steps: {}; peak memory per call: {} bytes (intermediates {} "
                       "bytes, {} without reuse)\n",
                       e.kernels, e.library_steps, e.peak_bytes, e.arena_bytes, e.unshared_bytes);
    out += "  fused:\n";
    indented(e.fused);
  }
  return out;
}

}  // namespace kiln
