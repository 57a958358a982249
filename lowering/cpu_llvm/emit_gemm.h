// The register-tiled GEMM micro-kernel (runtime/gemm.h's GemmMicroFn) as LLVM IR: an
// mr x nr tile of accumulators, nr / lanes vectors per row, held in registers across the
// depth loop, then either stored as partial sums or handed, row by row and vector by
// vector, to the kernel's epilogue.
#pragma once

#include <functional>

#include "lowering/cpu_llvm/jit.h"
#include "lowering/kernel_ir.h"

namespace kiln::lower::cpu {

// The epilogue at one vector of one row of a finished tile: the epilogue's row, the
// column of the vector's lane 0, the end of the tile's columns in range, the lanes in
// range (null: all of them) and the product there.
using GemmEpilogue = std::function<void(llvm::Value *row, llvm::Value *col, llvm::Value *col_end,
                                        llvm::Value *mask, llvm::Value *product)>;

// Emits the micro-kernel's body at `b`'s insert point in `fn`, whose tile arguments
// (runtime::GemmTileArgs) are at `tile`; `entry` is the function's entry block (allocas).
// `unrolled_epilogue`: for whole tiles, emit the epilogue once per vector of the tile, on
// the sums in registers (fast; code grows with the tile), else in a loop over the rows.
// Edge tiles always loop.
// `lanes`: elements per vector register. Requires tile.nr to be a multiple of it.
void emit_gemm_tile(llvm::IRBuilder<> &b, llvm::Function *fn, llvm::BasicBlock *entry,
                    const lower::Gemm &gemm, unsigned lanes, llvm::Value *tile,
                    bool unrolled_epilogue, const GemmEpilogue &epilogue);

}  // namespace kiln::lower::cpu
