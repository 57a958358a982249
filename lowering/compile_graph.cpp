// Graph → Artifact: one slot per buffer (graph inputs, group outputs), one step per group in
// fusion order, each kernel group scheduled into kernel IR, the distinct kernels compiled
// together as one object (kernels whose normalized IR and choices match share a symbol, so
// a model that repeats a block compiles it once), then the memory plan and the content key.
#include "lowering/compile_graph.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "ir/diag.h"
#include "ir/printer.h"
#include "ir/substitute_sizes.h"
#include "lowering/backend.h"
#include "lowering/fusion.h"
#include "lowering/schedule.h"
#include "lowering/source_hash.h"
#include "lowering/symbolic_kernel.h"

namespace kiln::lower {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The knobs that change a kernel's code beyond its kernel IR (which holds its GEMM tile).
std::string codegen_choices(const KernelChoices &c) {
  return fmt::format("registers_per_value={} epilogue_unroll_cost={}", c.registers_per_value,
                     c.epilogue_unroll_cost);
}

// The GEMM tile a kernel runs with must suit the micro-kernel the backend makes of it.
void check_tile(const Kernel &k, int64_t number, const Choices &choices, const Target &target) {
  const ir::GemmTile &t = k.gemm->tile;
  const int64_t lanes = std::max<int64_t>(1, target.vector_bytes / dtype_size(k.gemm->dtype));
  if (t.mr < 1 || t.mr > 32 || t.nr % lanes != 0 || t.nr / lanes > 8 || t.nc % t.nr != 0)
    fail(
        "choices: {} {} cannot apply to {} on {}: expected mr in 1..32, nr a multiple of {} (its "
        "{} lanes per {}-byte vector) and at most 8 vectors, nc a multiple of nr",
        choices.per_kernel.contains(number) ? fmt::format("k{}.gemm_tile", number)
                                            : fmt::format("kernel.gemm_tile (at k{})", number),
        gemm_tile_text(t), dtype_name(k.gemm->dtype), target.cpu, lanes, dtype_name(k.gemm->dtype),
        target.vector_bytes);
}

}  // namespace

CompiledGraph compile_graph(const ir::Graph &g, const Target &target, const Choices &choices,
                            const CompileGraphOptions &options) {
  const Backend &backend = lower::backend(target.backend);
  if (!backend.available) fail("@{}: {} backend: {}", g.name, backend.name, backend.missing);
  CompiledGraph out;
  Artifact &art = out.artifact;
  art.name = g.name;
  art.target = target;
  art.choices = choices;
  art.versions = versions(target.backend);

  auto t0 = std::chrono::steady_clock::now();
  const FusionPlan plan = fuse(g, choices.fusion);
  const double fuse_ms = ms_since(t0);
  art.fused = print_fused(g, plan);

  t0 = std::chrono::steady_clock::now();
  runtime::Plan &p = art.plan;
  std::map<ir::ValueId, int32_t> slot_of;
  std::vector<bool> is_output(g.num_values(), false);
  for (ir::ValueId v : g.outputs) is_output[v] = true;
  auto add_slot = [&](ir::ValueId v, runtime::Slot::Place place) {
    slot_of[v] = static_cast<int32_t>(p.slots.size());
    p.slots.push_back({g.type(v), place});
    return slot_of[v];
  };
  for (ir::ValueId v : g.inputs) p.inputs.push_back(add_slot(v, runtime::Slot::Place::Input));
  std::map<std::string, int32_t> kernel_of_content;  // normalized IR + codegen choices
  std::vector<std::string> symbols;                  // per distinct kernel
  std::vector<KernelChoices> kernel_choices;
  std::vector<size_t> first_use;  // per distinct kernel: the kernel step that scheduled it
  const GraphIndex index(g);
  for (const Group &group : plan.groups) {
    if (!backend.takes(group.kind)) {
      const ir::Node &node = g.nodes[group.members[0]];
      runtime::OpStep step{node.op, node.attrs, g.type(node.result), {}, -1};
      for (ir::ValueId o : node.operands) step.operands.push_back(slot_of.at(o));
      step.out = add_slot(node.result, runtime::Slot::Place::ByOp);
      p.steps.emplace_back(std::move(step));
      continue;
    }
    const int64_t number = static_cast<int64_t>(out.kernels.size());
    const KernelChoices &kc = choices.for_kernel(number);
    Kernel kernel =
        schedule(g, index, group, fmt::format("{}.k{}", g.name, number),
                 {.vector_bytes = target.vector_bytes, .schedule = choices.schedule, .kernel = kc});
    if (out.kernels.size() < options.symbolic_kernels.size()) {
      KILN_CHECK(options.symbolic_kernels[out.kernels.size()].name == kernel.name,
                 "symbolic kernel {} given for {}",
                 options.symbolic_kernels[out.kernels.size()].name, kernel.name);
      kernel = options.symbolic_kernels[out.kernels.size()];
    }
    if (kernel.gemm) check_tile(kernel, number, choices, target);
    if (!kernel.gemm && choices.per_kernel.contains(number) &&
        kc.gemm_tile != choices.kernel.gemm_tile)
      fail("choices: k{}.gemm_tile: kernel k{} of @{} is a {} kernel, not a matmul", number, number,
           g.name, group_kind_name(group.kind));
    runtime::KernelStep step;
    step.name = kernel.name;
    step.extent_expr = kernel.parallel_extent();
    step.extent = step.extent_expr.evaluate(options.witnesses);
    if (!kernel.loops.empty()) step.split = kernel.loops[0].split;
    step.symbolic = kernel.symbolic();
    // The work as the loops walk it: their extents carry the fitted sizes.
    step.elements = numel(group.shape);
    if (step.symbolic) {
      step.elements = 1;
      for (const Loop &l : kernel.loops) step.elements = step.elements * l.extent;
    }
    step.task_elements = kc.min_elements_per_task;
    step.grain = step.grain_at(numel(group.shape));
    const bool matmul = group.kind == GroupKind::Matmul;
    for (size_t i = matmul ? 2 : 0; i < group.inputs.size(); ++i)
      step.args.push_back(slot_of.at(group.inputs[i]));
    step.num_inputs = step.args.size();
    for (ir::ValueId v : group.outputs)
      step.args.push_back(
          add_slot(v, is_output[v] ? runtime::Slot::Place::Fresh : runtime::Slot::Place::Arena));
    if (matmul) {
      runtime::GemmCall call{.tile = kernel.gemm->tile,
                             .dtype = kernel.gemm->dtype,
                             .a_dtype = kernel.gemm->a_dtype,
                             .b_dtype = kernel.gemm->b_dtype,
                             .a = slot_of.at(group.inputs[0]),
                             .b = slot_of.at(group.inputs[1]),
                             .parallel_work = kc.gemm_parallel_work,
                             .split_columns = kc.gemm_split_columns};
      // Partial sums between depth blocks go to the first output of C's dtype (all outputs
      // have C's shape).
      for (size_t i = 0; i < group.outputs.size() && call.partial < 0; ++i)
        if (g.type(group.outputs[i]).dtype == call.dtype)
          call.partial = static_cast<int32_t>(step.num_inputs + i);
      step.gemm = call;
    }
    const std::string normalized = print_kernel_normalized(kernel);
    const std::string content = normalized + codegen_choices(kc);
    auto [it, fresh] =
        kernel_of_content.try_emplace(content, static_cast<int32_t>(art.kernels.size()));
    if (fresh) {
      // Named by content; two contents whose hashes collide get told apart by a suffix.
      std::string symbol = fmt::format("kiln_{:016x}", XXH3_64bits(content.data(), content.size()));
      while (std::find(symbols.begin(), symbols.end(), symbol) != symbols.end()) symbol += "_";
      first_use.push_back(out.kernels.size());
      art.kernels.push_back({.symbol = symbol,
                             .gemm = kernel.gemm.has_value(),
                             .tile = kernel.gemm ? kernel.gemm->tile : ir::GemmTile{},
                             .kernel_ir = normalized});
      symbols.push_back(symbol);
      kernel_choices.push_back(kc);
    }
    step.code_index = it->second;
    out.kernel_steps.push_back(p.steps.size());
    p.steps.emplace_back(std::move(step));
    out.kernels_text += print_kernel(kernel);
    out.kernels.push_back(std::move(kernel));
  }
  if (!choices.per_kernel.empty() &&
      choices.per_kernel.rbegin()->first >= static_cast<int64_t>(out.kernels.size()))
    fail("choices: k{} names no kernel: @{} has {} (k0 to k{})", choices.per_kernel.rbegin()->first,
         g.name, out.kernels.size(), static_cast<int64_t>(out.kernels.size()) - 1);
  for (ir::ValueId v : g.outputs) p.outputs.push_back(slot_of.at(v));
  p.lay_out();
  const double schedule_ms = ms_since(t0);

  ObjectCode code;
  if (!art.kernels.empty() && options.codegen) {
    std::vector<Kernel> batch;  // each distinct kernel once, as its first step scheduled it
    for (size_t s : first_use) batch.push_back(out.kernels[s]);
    code = backend.compile(batch, symbols, kernel_choices, target, options.keep_text);
  }
  art.object = std::move(code.object);
  art.key = content_key(art);
  out.source = std::move(code.source);
  out.optimized = std::move(code.optimized);
  out.assembly = std::move(code.assembly);
  out.timing = fmt::format(
      "fuse {:.3f} ms, schedule {:.3f} ms, {} emit {:.3f} ms, -O3 {:.3f} ms, codegen {:.3f} ms "
      "({} kernels, {} distinct)",
      fuse_ms, schedule_ms, backend.name, code.emit_ms, code.optimize_ms, code.codegen_ms,
      out.kernels.size(), art.kernels.size());
  return out;
}

std::vector<Kernel> distinct_kernels(const CompiledGraph &c) {
  std::vector<Kernel> out(c.artifact.kernels.size());
  std::vector<bool> seen(out.size(), false);
  for (size_t i = 0; i < c.kernels.size(); ++i) {
    const auto &step = std::get<runtime::KernelStep>(c.artifact.plan.steps[c.kernel_steps[i]]);
    const auto at = static_cast<size_t>(step.code_index);
    if (!seen[at]) out[at] = c.kernels[i];
    seen[at] = true;
  }
  return out;
}

std::string versions(BackendKind kind) {
  return fmt::format("kiln {} (sources {}), {}", KILN_VERSION, KILN_SOURCE_HASH,
                     backend(kind).version());
}

std::string compile_key(const ir::Graph &g, const Target &target, const Choices &choices,
                        const CompileGraphOptions &options) {
  std::string symbolic = fmt::format("witnesses {}\n", fmt::join(options.witnesses, ","));
  for (const Kernel &k : options.symbolic_kernels) symbolic += print_kernel(k);
  const std::string text =
      fmt::format("kiln compile key 2\n{}\n{}\n{}\n{}\n{}", versions(target.backend), target.text(),
                  choices.text(), symbolic, ir::print(g));
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

std::string content_hash(std::string_view text) {
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

std::string graph_text_key(const ir::Graph &g) { return content_hash(ir::print(g)); }

std::shared_ptr<const runtime::Program> load(const Artifact &artifact) {
  if (!artifact.has_code())
    fail("@{}: the artifact has no code (compiled with codegen off)", artifact.name);
  const Backend &backend = lower::backend(artifact.target.backend);
  if (!backend.available) fail("@{}: {} backend: {}", artifact.name, backend.name, backend.missing);
  std::shared_ptr<const runtime::KernelCode> code;
  if (!artifact.kernels.empty()) code = backend.load(artifact);
  return std::make_shared<const runtime::Program>(artifact.plan, std::move(code), artifact.name);
}

namespace {

// Whether two compiles group the graph alike and run the same op steps, up to the sizes
// (steps the runtime runs itself take their sizes from the call; nothing else of theirs may
// change with them).
std::string same_steps(const CompiledGraph &at_a, const CompiledGraph &at_b,
                       std::span<const int64_t> a, std::span<const int64_t> b,
                       std::span<const ir::SymExpr> derived) {
  if (at_a.kernels.size() != at_b.kernels.size() || at_a.kernel_steps != at_b.kernel_steps ||
      at_a.artifact.plan.steps.size() != at_b.artifact.plan.steps.size())
    return "fusion groups the graph differently at different sizes";
  const std::vector<int64_t> from = ir::size_values(derived, b), to = ir::size_values(derived, a);
  const ir::SizeMap b_to_a{from, to};
  const auto &steps_a = at_a.artifact.plan.steps, &steps_b = at_b.artifact.plan.steps;
  for (size_t i = 0; i < steps_a.size(); ++i) {
    const auto *x = std::get_if<runtime::OpStep>(&steps_a[i]);
    const auto *y = std::get_if<runtime::OpStep>(&steps_b[i]);
    if (x == nullptr) continue;
    if (y == nullptr || x->op != y->op || !(x->attrs == ir::substitute(y->attrs, b_to_a)) ||
        x->operands != y->operands)
      return fmt::format("its {} step depends on the sizes other than through its shapes",
                         op_name(x->op));
  }
  return {};
}

}  // namespace

std::string symbolize_kernels(const CompiledGraph &at_a, const CompiledGraph &at_b,
                              std::span<const int64_t> a, std::span<const int64_t> b,
                              std::span<const ir::SymExpr> derived, std::vector<Kernel> &kernels) {
  if (std::string why = same_steps(at_a, at_b, a, b, derived); !why.empty()) return why;
  kernels.assign(at_a.kernels.size(), {});
  for (size_t i = 0; i < at_a.kernels.size(); ++i) {
    std::string why = symbolize_kernel(at_a.kernels[i], at_b.kernels[i], a, b, kernels[i]);
    if (!why.empty()) return why;
  }
  return {};
}

std::string check_symbolic_kernels(std::span<const Kernel> kernels, const CompiledGraph &at_a,
                                   const CompiledGraph &at_c, std::span<const int64_t> a,
                                   std::span<const int64_t> c,
                                   std::span<const ir::SymExpr> derived) {
  if (std::string why = same_steps(at_a, at_c, a, c, derived); !why.empty()) return why;
  if (kernels.size() != at_c.kernels.size()) return "fusion groups the graph differently";
  for (size_t i = 0; i < kernels.size(); ++i)
    if (std::string why = check_symbolic_kernel(kernels[i], at_c.kernels[i], c); !why.empty())
      return why;
  return {};
}

}  // namespace kiln::lower
