// Lowering an optimised graph to a runtime::Program: fusion, scheduling each kernel group,
// compiling the kernels with the CPU backend, and memory planning. The only place that
// names a backend.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "lowering/kernel_ir.h"
#include "runtime/program.h"

namespace kiln::detail {

struct BuiltProgram {
  std::shared_ptr<const runtime::Program> program;
  std::string fused;    // print_fused of the graph
  std::string kernels;  // the kernel IR of every kernel
  int kernel_count = 0;
  std::string timing;  // "fuse 0.1 ms, schedule …" for KILN_LOGS=compile_time
  std::string llvm_ir, llvm_ir_optimized, assembly;  // filled when `keep_text`
  std::vector<lower::Kernel> kernel_ir;              // one per kernel step, in step order
  std::vector<size_t> kernel_steps;                  // the step index of each kernel
};

struct BuildOptions {
  bool keep_text = false;  // keep LLVM IR and assembly (dumps, KILN_LOGS=kernels)
  bool codegen = true;     // false: fuse and schedule only; kernel steps get no function
  std::vector<int32_t> kernel_symbols;  // dynamic shapes: KernelStep::symbol per kernel
                                        // (non-empty: no streaming stores, see schedule.h)
};

// Whether this build has a code-generating backend (LLVM).
[[nodiscard]] bool have_cpu_backend();

// Requires a verified, decomposed graph. Throws kiln::Error when the backend fails.
[[nodiscard]] BuiltProgram build_program(const ir::Graph &g, BuildOptions options);

}  // namespace kiln::detail
