// Graph → Program: one slot per buffer (graph inputs, group outputs), one step per group in
// fusion order, kernels compiled together as one module, then the memory plan.
#include "build_program.h"

#include <fmt/format.h>

#include <chrono>
#include <map>

#include "ir/diag.h"
#include "lowering/fusion.h"
#include "lowering/kernel_ir.h"
#include "lowering/schedule.h"
#ifdef KILN_HAVE_LLVM
#include "lowering/cpu_llvm/cpu_backend.h"
#endif

namespace kiln::detail {
namespace {

// Fewest elements a thread should get: below this, waking a thread costs more than it saves.
constexpr int64_t kMinElementsPerTask = 16384;

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

bool have_cpu_backend() {
#ifdef KILN_HAVE_LLVM
  return true;
#else
  return false;
#endif
}

BuiltProgram build_program(const ir::Graph &g, BuildOptions options) {
#ifndef KILN_HAVE_LLVM
  (void)options;
  fail("@{}: this kiln was built without LLVM (-Dllvm=disabled): no CPU code generation", g.name);
#else
  BuiltProgram built;
  auto t0 = std::chrono::steady_clock::now();
  const lower::FusionPlan plan = lower::fuse(g);
  const double fuse_ms = ms_since(t0);
  built.fused = lower::print_fused(g, plan);

  auto program = std::make_shared<runtime::Program>();
  std::map<ir::ValueId, int32_t> slot_of;
  std::vector<bool> is_output(g.num_values(), false);
  for (ir::ValueId v : g.outputs) is_output[v] = true;
  auto add_slot = [&](ir::ValueId v, runtime::Slot::Place place) {
    slot_of[v] = static_cast<int32_t>(program->slots.size());
    program->slots.push_back({g.type(v), place});
    return slot_of[v];
  };
  for (ir::ValueId v : g.inputs)
    program->inputs.push_back(add_slot(v, runtime::Slot::Place::Input));

  t0 = std::chrono::steady_clock::now();
  // One target for scheduling (GEMM tiles by vector width) and code generation alike.
  const lower::cpu::CpuTarget target = lower::cpu::current_target();
  std::vector<lower::Kernel> kernels;
  std::vector<size_t> kernel_steps;
  const lower::GraphIndex index(g);
  for (const lower::Group &group : plan.groups) {
    if (group.kind == lower::GroupKind::Library) {
      const ir::Node &node = g.nodes[group.members[0]];
      runtime::OpStep step{node.op, node.attrs, g.type(node.result), {}, -1};
      for (ir::ValueId o : node.operands) step.operands.push_back(slot_of.at(o));
      step.out = add_slot(node.result, runtime::Slot::Place::ByOp);
      program->steps.emplace_back(std::move(step));
      continue;
    }
    lower::Kernel kernel = lower::schedule(
        g, index, group, fmt::format("{}.k{}", g.name, kernels.size()),
        {.vector_bytes = target.vector_bytes, .streaming = options.kernel_symbols.empty()});
    runtime::KernelStep step;
    step.name = kernel.name;
    step.extent = kernel.parallel_extent();
    if (!kernel.loops.empty()) step.split = kernel.loops[0].split;
    const int64_t per_iteration =
        std::max<int64_t>(1, numel(group.shape) / std::max<int64_t>(1, step.extent));
    step.grain = std::max<int64_t>(1, kMinElementsPerTask / per_iteration);
    const bool matmul = group.kind == lower::GroupKind::Matmul;
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
                             .b = slot_of.at(group.inputs[1])};
      // Partial sums between depth blocks go to the first output of C's dtype (all outputs
      // have C's shape).
      for (size_t i = 0; i < group.outputs.size() && call.partial < 0; ++i)
        if (g.type(group.outputs[i]).dtype == call.dtype)
          call.partial = static_cast<int32_t>(step.num_inputs + i);
      step.gemm = call;
    }
    if (kernels.size() < options.kernel_symbols.size())
      step.symbol = options.kernel_symbols[kernels.size()];
    kernel_steps.push_back(program->steps.size());
    program->steps.emplace_back(std::move(step));
    built.kernels += lower::print_kernel(kernel);
    kernels.push_back(std::move(kernel));
  }
  for (ir::ValueId v : g.outputs) program->outputs.push_back(slot_of.at(v));
  const double schedule_ms = ms_since(t0);

  lower::CompiledKernels compiled;
  if (!kernels.empty() && options.codegen)
    compiled = lower::cpu::compile_kernels(kernels, {.keep_text = options.keep_text}, target);
  for (size_t i = 0; i < compiled.fns.size(); ++i) {
    auto &step = std::get<runtime::KernelStep>(program->steps[kernel_steps[i]]);
    step.fn = compiled.fns[i];
    if (step.gemm) step.gemm->micro = compiled.gemm_fns[i];
  }
  program->code = compiled.code;
  program->plan();
  built.program = std::move(program);
  built.kernel_count = static_cast<int>(kernels.size());
  built.llvm_ir = std::move(compiled.source);
  built.llvm_ir_optimized = std::move(compiled.optimized);
  built.assembly = std::move(compiled.assembly);
  built.kernel_ir = std::move(kernels);
  built.kernel_steps = std::move(kernel_steps);
  built.timing = fmt::format(
      "fuse {:.3f} ms, schedule {:.3f} ms, llvm emit {:.3f} ms, llvm -O3 {:.3f} ms, jit {:.3f} ms "
      "({} kernels)",
      fuse_ms, schedule_ms, compiled.emit_ms, compiled.optimize_ms, compiled.codegen_ms,
      built.kernel_count);
  return built;
#endif
}

}  // namespace kiln::detail
