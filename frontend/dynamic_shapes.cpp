// Dynamic shapes: which dims become symbols, the two witness traces and the kernel check
// that make a symbolic entry, and the check that admits each new size to it.
#include "dynamic_shapes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "compiled_state.h"
#include "ir/diag.h"
#include "ir/passes/dce.h"
#include "ir/pipeline.h"
#include "ir/printer.h"
#include "ir/settings.h"
#include "ir/shape.h"
#include "ir/substitute_sizes.h"
#include "ir/sym_expr.h"
#include "lowering/compile_graph.h"
#include "runtime/resize_program.h"
#include "tracer/trace.h"

namespace kiln::detail {

bool same_captures(const std::vector<runtime::Array> &a, const std::vector<runtime::Array> &b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].storage.data() != b[i].storage.data() || a[i].dtype != b[i].dtype ||
        a[i].layout.sizes != b[i].layout.sizes || a[i].layout.strides != b[i].layout.strides ||
        a[i].layout.offset != b[i].layout.offset)
      return false;
  return true;
}

namespace {

// The trace without values nothing reads: a dead value may have a size derived from a
// symbol (cat({x, x}) is 2*s0), which a later trace could never match.
ir::Graph live(ir::Graph g) {
  (void)ir::dce(g);
  return g;
}

// "'x' dim 0, 'y' dim 0" for logs.
std::string describe_dims(const Flat &f, const DimList &dims) {
  std::vector<std::string> parts;
  for (auto [row, dim] : dims) parts.push_back(fmt::format("'{}' dim {}", f.names[row], dim));
  return fmt::format("{}", fmt::join(parts, ", "));
}
}  // namespace

std::vector<guards::SymbolicDim> assign_symbols(
    std::span<const guards::ArgDesc> args,
    std::span<const std::pair<int32_t, int32_t>> candidates) {
  std::vector<guards::SymbolicDim> out;
  std::map<int64_t, int32_t> symbol_of_size;
  for (auto [row, dim] : candidates) {
    const guards::ArgDesc &a = args[row];
    if (a.kind != guards::ArgDesc::Kind::Tensor || dim >= static_cast<int32_t>(a.sizes.size()))
      continue;
    const int64_t size = a.sizes[dim];
    if (size < 2 || !is_contiguous(a.sizes, a.strides)) continue;
    auto it = symbol_of_size.find(size);
    if (it == symbol_of_size.end()) {
      if (static_cast<int>(symbol_of_size.size()) == guards::kMaxSymbols) continue;
      it = symbol_of_size.emplace(size, static_cast<int32_t>(symbol_of_size.size())).first;
    }
    out.push_back({row, dim, it->second});
  }
  return out;
}

// The entry's trace at a call's sizes, its size constants taken from `got` (the call's own
// trace) where they are what the sizes make them.
ir::Graph expected_trace(const ir::Graph &traced, std::span<const ir::SizeConstantNode> constants,
                         const ir::Graph &got, const ir::SizeMap &to_call) {
  ir::Graph want = ir::substitute(traced, to_call);
  for (const ir::SizeConstantNode &c : constants) {
    if (c.node >= got.nodes.size() || got.nodes[c.node].op != OpKind::Full) continue;
    const AttrValue *v = got.nodes[c.node].attrs.find("value");
    if (const double *x = v != nullptr ? std::get_if<double>(v) : nullptr;
        x != nullptr && c.constant.matches(*x, to_call.to))
      want.nodes[c.node].attrs.set("value", *x);
  }
  return want;
}

// Traces at two witness sets and keeps the result only if graph and kernels hold for
// every size of the symbols; otherwise says why in `why` and returns null.
std::shared_ptr<const Entry> CompiledCore::State::trace_dynamic(std::span<const Arg> args,
                                                                const Flat &f, const Invoke &invoke,
                                                                const DimList &candidates,
                                                                std::string &why) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<guards::SymbolicDim> symbols = assign_symbols(f.descs, candidates);
  if (symbols.empty()) return nullptr;
  int n = 0;
  for (const auto &s : symbols) n = std::max(n, s.symbol + 1);
  const std::vector<int64_t> w0 = ir::witness_sizes(n, 0), w1 = ir::witness_sizes(n, 1),
                             w2 = ir::witness_sizes(n, 2);
  // Anything that fails on the way (a shape error at witness sizes, a backend error) only
  // means these dims stay static; the static trace that follows reports real errors.
  try {
    Traced a = trace_graph(args, f, invoke, symbols, w0);
    Traced b = trace_graph(args, f, invoke, symbols, w1);
    if (!same_captures(a.captured, b.captured)) {
      why =
          "the function makes tensors from data while tracing (they would be constants of one "
          "size)";
      return nullptr;
    }
    if (a.random_counters > 0) {
      why =
          "it draws random numbers: how far a call moves the generator depends on the sizes, so "
          "they stay static";
      return nullptr;
    }
    ir::Graph traced = live(a.graph);
    const ir::Graph traced_at_b = live(b.graph);
    // Sizes the function computes from the symbols (b * s rows) map like the symbols do.
    std::vector<ir::SymExpr> derived = ir::derived_sizes(traced, traced_at_b, w0, w1);
    auto b_to_a = [&](const ir::Graph &g) {
      const std::vector<int64_t> from = ir::size_values(derived, w1),
                                 to = ir::size_values(derived, w0);
      return ir::substitute(g, {from, to});
    };
    // A constant that follows the sizes (a gradient's 2/n) is computed by the kernels; a
    // graph the runtime interprets keeps it static.
    std::vector<ir::SizeConstantNode> size_constants;
    const ir::Graph traced_b = codegen() ? ir::with_size_constants_of(traced, traced_at_b, w0, w1,
                                                                      &size_constants, derived)
                                         : b_to_a(traced_at_b);
    if (ir::print(traced_b) != ir::print(traced)) {
      why =
          "the function uses a dynamic size other than as a size (a shape or constant computed "
          "from it)";
      return nullptr;
    }
    ir::Graph ga = a.graph, gb = b.graph;
    ir::run_pipeline(ga, ir::default_pipeline());
    ir::run_pipeline(gb, ir::default_pipeline());
    // Generated kernels compute a constant that is a size (a mean's count) from the call's
    // sizes; a graph the runtime interprets cannot.
    for (const ir::SymExpr &e : ir::derived_sizes(ga, gb, w0, w1))
      if (std::find(derived.begin(), derived.end(), e) == derived.end()) derived.push_back(e);
    const ir::Graph gb_at_a =
        codegen() ? ir::with_size_constants_of(ga, gb, w0, w1, nullptr, derived) : b_to_a(gb);
    if (ir::print(gb_at_a) != ir::print(ga)) {
      why =
          "the function uses a dynamic size other than as a size (a mean over it, a shape or "
          "constant "
          "computed from it)";
      return nullptr;
    }
    for (ir::ValueId v = 0; v < ga.num_values(); ++v)
      if (numel(ga.type(v).shape) >
          (int64_t{1} << 52)) {  // byte counts at witness sizes stay in int64
        why = "too many symbols in one tensor";
        return nullptr;
      }
    // A derived size equal to another size at a witness set could not be told apart.
    for (std::span<const int64_t> w :
         {std::span<const int64_t>(w0), std::span<const int64_t>(w1)}) {
      std::vector<int64_t> values = ir::size_values(derived, w);
      std::sort(values.begin(), values.end());
      if (std::adjacent_find(values.begin(), values.end()) != values.end()) {
        why = "a size computed from the symbols equals another at the witness sizes";
        return nullptr;
      }
    }
    // Two sets determine each fit; a third tests them: the trace, the graph's steps and
    // every kernel at set 2 must be what the fits say.
    Traced c = trace_graph(args, f, invoke, symbols, w2);
    const std::vector<int64_t> at0 = ir::size_values(derived, w0),
                               at2 = ir::size_values(derived, w2);
    if (ir::print(live(c.graph)) !=
        ir::print(expected_trace(traced, size_constants, live(c.graph), {at0, at2}))) {
      why = "the function uses a dynamic size other than as a size (checked at a third size)";
      return nullptr;
    }
    std::vector<lower::Kernel> kernels;
    const lower::Target target = codegen() ? compile_target() : lower::Target{};
    if (codegen()) {
      const lower::CompiledGraph at_a =
          lower::compile_graph(ga, target, choices, {.codegen = false, .witnesses = w0});
      why = lower::symbolize_kernels(
          at_a, lower::compile_graph(gb, target, choices, {.codegen = false, .witnesses = w1}), w0,
          w1, derived, kernels);
      if (!why.empty()) return nullptr;
      ir::Graph gc = c.graph;
      ir::run_pipeline(gc, ir::default_pipeline());
      why = lower::check_symbolic_kernels(
          kernels, at_a,
          lower::compile_graph(gc, target, choices, {.codegen = false, .witnesses = w2}), w0, w2,
          derived);
      if (!why.empty()) return nullptr;
    }
    const int index = traces++;
    auto entry = std::make_shared<Entry>();
    entry->grad_mode = grad_enabled();
    entry->guards = guards::GuardSet::capture(f.descs, f.names, symbols, f.params, a.runtime_rows);
    entry->scalar_inputs = a.scalar_inputs;
    entry->dynamic = std::make_unique<DynamicState>();
    entry->dynamic->witnesses = w0;
    entry->dynamic->traced = std::move(traced);
    entry->dynamic->size_constants = std::move(size_constants);
    entry->dynamic->derived = std::move(derived);
    optimise(*entry, std::move(a), index, ms_since(t0));
    if (codegen()) compile_and_load(*entry, index, target, choices, w0, std::move(kernels));
    entry->compile_ms = ms_since(t0);
    return entry;
  } catch (const tracer::GraphBreak &brk) {
    why = fmt::format("tracing with symbolic sizes stopped at '{}'", brk.op());
  } catch (const InternalError &) {
    if (strict_internal_errors()) throw;
    why = "kiln hit an internal error compiling the symbolic entry";
  } catch (const std::exception &e) {
    const std::string_view msg = e.what();
    why =
        fmt::format("tracing with symbolic sizes failed: {}",
                    ir::symbolize_text(ir::symbolize_text(msg.substr(0, msg.find('\n')), w0), w1));
  }
  return nullptr;
}

// Sets of dims to try making symbolic for this call, best first: in Auto, those that
// differ from (or are already symbolic in) an entry whose arguments have the same kinds
// and ranks; in On, on the first compile, every dim, then all but the last of each
// tensor, then only the leading ones.
std::vector<DimList> CompiledCore::State::dynamic_candidates(const Flat &f) {
  std::vector<DimList> out;
  std::shared_lock lock(entries_mutex);
  if (options.dynamic == Dynamic::On && entries.empty()) {
    // Then all but the last dim of each tensor: a [batch, seq, hidden] input whose hidden
    // size a weight fixes.
    DimList all, outer, leading;
    for (size_t row = 0; row < f.descs.size(); ++row) {
      const size_t rank = f.descs[row].sizes.size();
      for (size_t d = 0; d < rank; ++d) {
        all.push_back({static_cast<int32_t>(row), static_cast<int32_t>(d)});
        if (d + 1 < rank) outer.push_back(all.back());
        if (d == 0) leading.push_back(all.back());
      }
    }
    out = {all};
    if (outer != all && outer != leading && !outer.empty()) out.push_back(outer);
    out.push_back(leading);
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
std::shared_ptr<const Instance> CompiledCore::State::admit_sizes(
    const Entry &e, const SymbolSizes &sizes, std::span<const Arg> args, const Flat &f,
    const Invoke &invoke, std::string &why) {
  const size_t n = e.dynamic->witnesses.size();
  const std::vector<int64_t> from = ir::size_values(e.dynamic->derived, e.dynamic->witnesses),
                             to = ir::size_values(e.dynamic->derived,
                                                  std::span<const int64_t>(sizes.data(), n));
  const ir::SizeMap to_call{from, to};
  std::vector<std::string> bound;
  for (size_t k = 0; k < n; ++k) bound.push_back(fmt::format("s{}={}", k, sizes[k]));
  std::shared_ptr<Instance> instance;
  why = fmt::format(
      "the dynamic entry does not hold at {}: the function traces a different graph there",
      fmt::join(bound, ", "));
  try {
    const Traced t = trace_graph(args, f, invoke, {}, {});
    if (!same_captures(t.captured, e.captured))
      why = fmt::format(
          "the dynamic entry does not hold at {}: the function makes tensors from data while "
          "tracing (they would be constants of one size)",
          fmt::join(bound, ", "));
    else if (ir::print(live(t.graph)) ==
             ir::print(expected_trace(e.dynamic->traced, e.dynamic->size_constants, live(t.graph),
                                      to_call)))
      instance = std::make_shared<Instance>();
  } catch (const tracer::GraphBreak &brk) {
    why = fmt::format("the dynamic entry does not hold at {}: tracing stops at '{}' there",
                      fmt::join(bound, ", "), brk.op());
  }
  if (instance) {
    why.clear();
    if (e.program)
      instance->program = runtime::resize_program(*e.program, to_call);
    else
      instance->graph = ir::substitute(e.graph, to_call);
  }
  std::unique_lock lock(e.dynamic->mutex);
  if (e.dynamic->instances.size() >=
      kMaxInstances)  // forget the sizes that held, keep the refusals
    std::erase_if(e.dynamic->instances, [](const auto &kv) { return kv.second != nullptr; });
  e.dynamic->instances[sizes] = instance;
  return instance;
}

std::shared_ptr<const Entry> CompiledCore::State::compile_dynamic(std::span<const Arg> args,
                                                                  const Flat &f,
                                                                  const Invoke &invoke) {
  for (const DimList &candidates : dynamic_candidates(f)) {
    if (failed_dynamic.contains(candidates)) continue;
    std::string why;
    if (auto entry = trace_dynamic(args, f, invoke, candidates, why)) {
      last_dynamic = candidates;
      return entry;
    }
    if (why.empty()) continue;
    failed_dynamic.insert(candidates);
    if (log_enabled(LogTopic::Recompiles))
      log_line(LogTopic::Recompiles, fmt::format("{}: dynamic shapes: {} cannot all be symbols: {}",
                                                 options.name, describe_dims(f, candidates), why));
  }
  return nullptr;
}

}  // namespace kiln::detail
