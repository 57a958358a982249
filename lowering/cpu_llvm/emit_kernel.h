// Kernel IR → LLVM IR: one function per kernel, named `symbol`, for the given CPU.
#pragma once

#include <string>

#include "lowering/choices.h"
#include "lowering/cpu_llvm/jit.h"
#include "lowering/kernel_ir.h"
#include "lowering/target.h"

namespace kiln::lower::cpu {

// Adds `void symbol(ptr args, ptr sizes, i64 begin, i64 end)` to `m`; it runs iterations
// [begin, end) of the kernel's outermost loop over the data pointers args[0..], reading
// symbolic numbers from the symbols' sizes. A matmul kernel (k.gemm) becomes
// `void symbol(ptr tile)` instead, a runtime::GemmMicroFn (the tile holds the sizes).
// `choices` are the kernel's (registers per value, epilogue unrolling).
llvm::Function *emit_kernel(llvm::Module &m, const lower::Kernel &k, const KernelChoices &choices,
                            const std::string &symbol, const Target &target);

}  // namespace kiln::lower::cpu
