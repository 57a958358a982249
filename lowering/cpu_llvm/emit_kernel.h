// Kernel IR → LLVM IR: one function per kernel, named `symbol`, for the given CPU.
#pragma once

#include <string>

#include "lowering/cpu_llvm/jit.h"
#include "lowering/kernel_ir.h"

namespace kiln::lower::cpu {

// Adds `void symbol(ptr args, i64 begin, i64 end)` to `m`; it runs iterations [begin, end)
// of the kernel's outermost loop over the data pointers args[0..]. A matmul kernel (k.gemm)
// becomes `void symbol(ptr tile)` instead, a runtime::GemmMicroFn.
llvm::Function *emit_kernel(llvm::Module &m, const lower::Kernel &k, const std::string &symbol,
                            const std::string &cpu, const std::string &features);

}  // namespace kiln::lower::cpu
