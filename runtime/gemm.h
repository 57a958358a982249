// GEMM in the BLIS split: this driver blocks and packs the operands; a micro-kernel (the
// backend's generated one, or the eager C++ one) multiplies one register tile at a time
// and, on the last depth block, writes it out through the kernel's epilogue.
#pragma once

#include <cstdint>
#include <type_traits>

#include "ir/dtype.h"
#include "ir/gemm_tile.h"
#include "runtime/view.h"

namespace kiln::runtime {

// What the micro-kernel is handed for one tile. Its layout is part of the backend
// contract: lowering/cpu_llvm/emit_gemm.cpp reads the fields by offset.
struct GemmTileArgs {
  const void *packed_a;  // [depth][mr]: the tile's rows of A, zero-padded to mr
  const void *packed_b;  // [depth][nr]: the tile's columns of B, zero-padded to nr
  int64_t depth;         // multiply-adds per element in this block (0 for an empty k)
  void *partial;         // the tile's first partial sum; row stride `ldc`
  int64_t ldc;
  int64_t row, col;      // the tile's first element in the epilogue's rows and columns
  int64_t rows, cols;    // elements of the tile inside C (the rest is padding)
  int64_t flags;         // kGemmAccumulate | kGemmFinish
  void *const *args;     // the epilogue's buffers: the kernel's args
  const int64_t *sizes;  // the symbols' sizes the epilogue's indices read (dynamic shapes)
};
inline constexpr int64_t kGemmAccumulate = 1;  // add the partial sums already in `partial`
inline constexpr int64_t kGemmFinish = 2;      // last block: run the epilogue, else store partials

static_assert(std::is_standard_layout_v<GemmTileArgs>);

using GemmMicroFn = void (*)(const GemmTileArgs *);

// A GEMM step as plain data (a Program's plan stores it); the micro-kernel comes apart.
struct GemmCall {
  ir::GemmTile tile;         // mr and nr are the micro-kernel's; nc a multiple of nr
  DType dtype = DType::F32;  // of the product; packing converts the operands to it
  DType a_dtype = DType::F32, b_dtype = DType::F32;  // of the operands as stored
  int32_t a = -1, b = -1;  // Program slots of the operands, read with their own strides
  int32_t partial = -1;    // the arg (an output of C's shape and dtype) that holds partial
                           // sums between depth blocks; -1: scratch memory
  int64_t parallel_work = int64_t{1} << 18;  // fewest multiply-adds split between threads
  bool split_columns = false;  // threads take column ranges (own packed B), not row blocks
};

// C = A x B for A [..., m, k], B [..., k, n] of call.dtype (equal batch dims, any strides),
// handing each finished tile to `micro`, whose epilogue writes `args`' outputs.
void run_gemm(const GemmCall &call, GemmMicroFn micro, const View &a, const View &b,
              void *const *args, const int64_t *sizes = nullptr);

// The most scratch run_gemm allocates for operands of these shapes at the current thread
// count: packed B and a block of A per thread, and partial sums when no output holds them.
[[nodiscard]] int64_t gemm_scratch_bytes(const GemmCall &call, const Shape &a, const Shape &b);

}  // namespace kiln::runtime
