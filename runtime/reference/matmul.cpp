// Eager matmul: the shared GEMM driver (runtime/gemm.h) with a C++ micro-kernel, an
// 8 x (2 vectors) tile in GCC vector types (explicit SIMD on any ISA) that stores each
// block's sums straight into the output, so no epilogue is needed.
#include "runtime/reference/matmul.h"

#include <algorithm>
#include <cstring>

#include "ir/diag.h"
#include "runtime/gemm.h"

namespace kiln::runtime {
namespace {

constexpr int64_t kVectorBytes = 64;
constexpr int64_t kMR = 8;
template <class T>
constexpr int64_t kLanes = kVectorBytes / static_cast<int64_t>(sizeof(T));

template <class T>
void micro_kernel(const GemmTileArgs *t) {
  typedef T Vec __attribute__((vector_size(kVectorBytes)));
  constexpr int64_t L = kLanes<T>, NR = 2 * L;
  const T *pa = static_cast<const T *>(t->packed_a), *pb = static_cast<const T *>(t->packed_b);
  Vec acc[kMR][2] = {};
  for (int64_t k = 0; k < t->depth; ++k) {
    Vec b0, b1;
    std::memcpy(&b0, pb + k * NR, sizeof(Vec));
    std::memcpy(&b1, pb + k * NR + L, sizeof(Vec));
    for (int64_t i = 0; i < kMR; ++i) {
      const T a = pa[k * kMR + i];
      acc[i][0] += a * b0;
      acc[i][1] += a * b1;
    }
  }
  T *c = static_cast<T *>(t->partial);
  const bool accumulate = (t->flags & kGemmAccumulate) != 0;
  if (t->rows == kMR && t->cols == NR) {
    for (int64_t i = 0; i < kMR; ++i)
      for (int64_t h = 0; h < 2; ++h) {
        Vec out = acc[i][h];
        if (accumulate) {
          Vec old;
          std::memcpy(&old, c + i * t->ldc + h * L, sizeof(Vec));
          out += old;
        }
        std::memcpy(c + i * t->ldc + h * L, &out, sizeof(Vec));
      }
    return;
  }
  alignas(kVectorBytes) T tile[kMR * NR];  // an edge tile: only its elements in range
  std::memcpy(tile, acc, sizeof(tile));
  for (int64_t i = 0; i < t->rows; ++i)
    for (int64_t j = 0; j < t->cols; ++j)
      c[i * t->ldc + j] = accumulate ? c[i * t->ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}

}  // namespace

void matmul_kernel(const View &a, const View &b, const View &out) {
  visit_dtype(a.dtype, [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      KILN_UNREACHABLE("bool matmul reached the kernel");
    } else {
      GemmCall call{.micro = micro_kernel<T>,
                    .tile = {.mr = kMR, .nr = 2 * kLanes<T>, .kc = 256, .mc = 256, .nc = 1024},
                    .dtype = a.dtype,
                    .a_dtype = a.dtype,
                    .b_dtype = b.dtype,
                    .partial = 0};  // the output holds the sums, and is the only arg
      void *const args[] = {out.data};
      run_gemm(call, a, b, args);
    }
  });
}

}  // namespace kiln::runtime
