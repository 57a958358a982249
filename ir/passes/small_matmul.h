// Small matmuls as reductions: matmul(a, b) for [..., m, k] x [..., k, n] becomes
// sum(broadcast(a) * broadcast(b), last dim) over [..., m, n, k], which fusion turns into one
// generated kernel together with its bias and activation, with no library call.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Requires a verified graph. Rewrites float matmuls of at most kSmallMatmulFlops
// multiply-adds, and narrow ones (at most kNarrowMatmulCols output columns and
// kNarrowMatmulRowFlops multiply-adds per row) of any height; others stay (a cache-blocked
// GEMM wins there). Types are unchanged;
// values differ from the matmul kernel's by summation order only (sums accumulate in f64).
[[nodiscard]] bool small_matmul(Graph &g);

inline constexpr int64_t kSmallMatmulFlops = 1 << 16;
// Measured on 65,536 rows (Zen 4, one thread): [k=5 -> n=10] 71 us as a reduction, 347 us
// as GEMM; [16 -> 4] 345 vs 613 us; [8 -> 16] 1193 vs 459 us, so 16 columns stay GEMM.
inline constexpr int64_t kNarrowMatmulCols = 10;
inline constexpr int64_t kNarrowMatmulRowFlops = 256;

}  // namespace kiln::ir
