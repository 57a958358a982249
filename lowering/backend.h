// The contract between compile() and a backend: compile a batch of kernels (lowering/kernel_ir.h)
// into launchable functions. Backends share this header and nothing else.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/program.h"

namespace kiln::lower {

struct KernelCompileOptions {
  bool keep_text = false;  // fill the text fields below (dumps, KILN_LOGS=kernels, tests)
};

struct CompiledKernels {
  std::vector<runtime::KernelFn> fns;  // one per kernel, in the order given; null for a matmul
  std::vector<runtime::GemmMicroFn> gemm_fns;  // one per kernel: a matmul's micro-kernel, else null
  std::shared_ptr<const void> code;            // owns the generated code; functions die with it
  std::string source;                          // backend input as text (CPU: LLVM IR before -O3)
  std::string optimized;                       // after optimization (CPU: LLVM IR after -O3)
  std::string assembly;                        // native code as text
  double emit_ms = 0, optimize_ms = 0, codegen_ms = 0;
};

}  // namespace kiln::lower
