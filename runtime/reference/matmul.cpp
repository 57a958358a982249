// Eager matmul: the shared GEMM driver (runtime/gemm.h) with a C++ micro-kernel in GCC vector
// types (explicit SIMD on any ISA), sized for the vectors and register file this file is
// compiled for, that stores each block's sums straight into the output (no epilogue).
#include "runtime/reference/matmul.h"

#include <cstring>

#include "ir/diag.h"
#include "runtime/gemm.h"

namespace kiln::runtime {
namespace {

// The widest vector the compiler targets, and the most rows whose accumulators (kMR x 2
// vectors) stay in registers beside two vectors of B and A's broadcast: AVX-512 has 32
// registers (8 x 2 = 16 accumulators), AVX/AVX2 and SSE 16 (6 x 2 = 12; 16 spill, which made
// the 64-byte 8 x 2 tile run at 2 GFLOP/s on an AVX2 Zen 3). As lowering/schedule.cpp's
// gemm_tile does for generated code, from the Target there.
#if defined(__AVX512F__)
constexpr int64_t kVectorBytes = 64;
constexpr int64_t kMR = 8;
#elif defined(__AVX__)
constexpr int64_t kVectorBytes = 32;
constexpr int64_t kMR = 6;
#else
constexpr int64_t kVectorBytes = 16;
constexpr int64_t kMR = 6;
#endif
constexpr int64_t kVectors = 2;  // per row of the tile
template <class T>
constexpr int64_t kLanes = kVectorBytes / static_cast<int64_t>(sizeof(T));

template <class T>
void micro_kernel(const GemmTileArgs *t) {
  typedef T Vec __attribute__((vector_size(kVectorBytes)));
  constexpr int64_t L = kLanes<T>, NR = L * kVectors;
  const T *pa = static_cast<const T *>(t->packed_a), *pb = static_cast<const T *>(t->packed_b);
  Vec acc[kMR][kVectors] = {};
  for (int64_t k = 0; k < t->depth; ++k) {
    Vec b[kVectors];
    for (int64_t v = 0; v < kVectors; ++v) std::memcpy(&b[v], pb + k * NR + v * L, sizeof(Vec));
    for (int64_t i = 0; i < kMR; ++i) {
      const T a = pa[k * kMR + i];
      for (int64_t v = 0; v < kVectors; ++v) acc[i][v] += a * b[v];
    }
  }
  T *c = static_cast<T *>(t->partial);
  const bool accumulate = (t->flags & kGemmAccumulate) != 0;
  if (t->rows == kMR && t->cols == NR) {
    for (int64_t i = 0; i < kMR; ++i)
      for (int64_t v = 0; v < kVectors; ++v) {
        Vec out = acc[i][v];
        if (accumulate) {
          Vec old;
          std::memcpy(&old, c + i * t->ldc + v * L, sizeof(Vec));
          out += old;
        }
        std::memcpy(c + i * t->ldc + v * L, &out, sizeof(Vec));
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
      GemmCall call{
          .tile = {.mr = kMR, .nr = kLanes<T> * kVectors, .kc = 256, .mc = 256, .nc = 1024},
          .dtype = a.dtype,
          .a_dtype = a.dtype,
          .b_dtype = b.dtype,
          .partial = 0};  // the output holds the sums, and is the only arg
      void *const args[] = {out.data};
      run_gemm(call, micro_kernel<T>, a, b, args);
    }
  });
}

}  // namespace kiln::runtime
