// Lowering an optimised graph to a runtime::Program: fusion, scheduling each kernel group,
// compiling the kernels with the CPU backend, and memory planning. The only place that
// names a backend.
#pragma once

#include <memory>
#include <string>

#include "ir/graph.h"
#include "runtime/program.h"

namespace kiln::detail {

struct BuiltProgram {
  std::shared_ptr<const runtime::Program> program;
  std::string fused;    // print_fused of the graph
  std::string kernels;  // the kernel IR of every kernel
  int kernel_count = 0;
  std::string timing;   // "fuse 0.1 ms, schedule …" for KILN_LOGS=compile_time
  std::string llvm_ir, llvm_ir_optimized, assembly;  // filled when `keep_text`
};

// Whether this build has a code-generating backend (LLVM).
[[nodiscard]] bool have_cpu_backend();

// Requires a verified, decomposed graph. Throws kiln::Error when the backend fails.
[[nodiscard]] BuiltProgram build_program(const ir::Graph &g, bool keep_text);

}  // namespace kiln::detail
