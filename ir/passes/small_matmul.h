// Small matmuls as reductions: matmul(a, b) for [..., m, k] x [..., k, n] becomes
// sum(broadcast(a) * broadcast(b), last dim) over [..., m, n, k], which fusion turns into one
// generated kernel together with its bias and activation, with no library call.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Requires a verified graph. Rewrites float matmuls of at most kSmallMatmulFlops
// multiply-adds; larger ones stay (a cache-blocked GEMM wins there). Types are unchanged;
// values differ from the matmul kernel's by summation order only (sums accumulate in f64).
[[nodiscard]] bool small_matmul(Graph &g);

inline constexpr int64_t kSmallMatmulFlops = 1 << 16;

}  // namespace kiln::ir
