// Cache-blocked GEMM in the Goto/BLIS shape: B is packed into kc x NR slivers that stay
// in L1, A into MR x kc slivers in L2, and a register-tiled MR x NR micro-kernel (2 vectors
// wide, written with GCC vector types so it is explicit SIMD on any ISA) does the FMAs.
// Packing reads any strides, so transposed operands cost nothing extra.
#include "runtime/reference/matmul.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ir/diag.h"
#include "runtime/allocator.h"
#include "runtime/thread_pool.h"

namespace kiln::runtime {
namespace {

constexpr int64_t kVectorBytes = 64;
constexpr int64_t kMR = 8;     // rows of C per micro-tile
constexpr int64_t kKC = 256;   // depth of one packed block
constexpr int64_t kNC = 1024;  // columns of B packed at once

template <class T> constexpr int64_t kLanes = kVectorBytes / sizeof(T);
template <class T> constexpr int64_t kNR = 2 * kLanes<T>;

struct Matrix {  // a strided 2-D operand
  const std::byte *data;
  int64_t rows, cols, row_stride, col_stride;
  template <class T> T at(int64_t r, int64_t c) const {
    return reinterpret_cast<const T *>(data)[r * row_stride + c * col_stride];
  }
};

// packed[panel][k][NR] for columns [j0, j0+nc) and depth [p0, p0+kc); zero-padded.
template <class T> void pack_b(const Matrix &b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, T *packed) {
  constexpr int64_t NR = kNR<T>;
  for (int64_t jp = 0; jp < nc; jp += NR) {
    int64_t w = std::min(NR, nc - jp);
    T *dst = packed + jp * kc;
    for (int64_t k = 0; k < kc; ++k) {
      const T *src = reinterpret_cast<const T *>(b.data) + (p0 + k) * b.row_stride + (j0 + jp) * b.col_stride;
      int64_t j = 0;
      if (b.col_stride == 1)
        for (; j < w; ++j) dst[k * NR + j] = src[j];
      else
        for (; j < w; ++j) dst[k * NR + j] = src[j * b.col_stride];
      for (; j < NR; ++j) dst[k * NR + j] = T(0);
    }
  }
}

// packed[panel][k][MR] for rows [i0, i0+mc) and depth [p0, p0+kc); zero-padded.
template <class T> void pack_a(const Matrix &a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, T *packed) {
  for (int64_t ip = 0; ip < mc; ip += kMR) {
    int64_t h = std::min(kMR, mc - ip);
    T *dst = packed + ip * kc;
    for (int64_t k = 0; k < kc; ++k) {
      int64_t i = 0;
      for (; i < h; ++i) dst[k * kMR + i] = a.at<T>(i0 + ip + i, p0 + k);
      for (; i < kMR; ++i) dst[k * kMR + i] = T(0);
    }
  }
}

// C[0:MR, 0:NR] (+)= A_sliver * B_sliver, C row stride ldc.
template <class T>
void micro_kernel(int64_t kc, const T *pa, const T *pb, T *c, int64_t ldc, bool accumulate) {
  typedef T Vec __attribute__((vector_size(kVectorBytes)));
  constexpr int64_t L = kLanes<T>;
  Vec acc[kMR][2] = {};
  for (int64_t k = 0; k < kc; ++k) {
    Vec b0, b1;
    std::memcpy(&b0, pb + k * 2 * L, sizeof(Vec));
    std::memcpy(&b1, pb + k * 2 * L + L, sizeof(Vec));
    for (int64_t i = 0; i < kMR; ++i) {
      const T a = pa[k * kMR + i];
      acc[i][0] += a * b0;
      acc[i][1] += a * b1;
    }
  }
  for (int64_t i = 0; i < kMR; ++i)
    for (int64_t h = 0; h < 2; ++h) {
      Vec cur;
      if (accumulate) {
        std::memcpy(&cur, c + i * ldc + h * L, sizeof(Vec));
        cur += acc[i][h];
      } else {
        cur = acc[i][h];
      }
      std::memcpy(c + i * ldc + h * L, &cur, sizeof(Vec));
    }
}

// One MC x NC block of C from packed A and B; edge tiles go through a local tile.
template <class T>
void compute_block(int64_t mc, int64_t nc, int64_t kc, const T *pa, const T *pb, T *c, int64_t ldc,
                   bool accumulate) {
  constexpr int64_t NR = kNR<T>;
  alignas(kVectorBytes) T tile[kMR * NR];
  for (int64_t jr = 0; jr < nc; jr += NR) {
    for (int64_t ir = 0; ir < mc; ir += kMR) {
      int64_t h = std::min(kMR, mc - ir), w = std::min(NR, nc - jr);
      T *dst = c + ir * ldc + jr;
      if (h == kMR && w == NR) {
        micro_kernel<T>(kc, pa + ir * kc, pb + jr * kc, dst, ldc, accumulate);
        continue;
      }
      micro_kernel<T>(kc, pa + ir * kc, pb + jr * kc, tile, NR, false);
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j)
          dst[i * ldc + j] = accumulate ? dst[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
    }
  }
}

template <class T> void gemm(const Matrix &a, const Matrix &b, T *c, bool parallel) {
  constexpr int64_t NR = kNR<T>;
  const int64_t m = a.rows, n = b.cols, k = a.cols;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::fill(c, c + m * n, T(0));
    return;
  }
  // Below ~2^18 multiply-adds, waking the pool costs more than the product itself.
  constexpr int64_t kParallelWork = int64_t{1} << 18;
  const int threads = parallel && m * n * k >= kParallelWork ? num_threads() : 1;
  // Row blocks: at most 256 rows, and enough blocks to keep every thread busy.
  int64_t mc = std::clamp<int64_t>((m + threads - 1) / threads, kMR, 256);
  mc = (mc + kMR - 1) / kMR * kMR;
  const int64_t row_blocks = (m + mc - 1) / mc;
  const int64_t nc_max = std::min(kNC, (n + NR - 1) / NR * NR);
  ScratchBuffer packed_b(sizeof(T) * kKC * nc_max);
  ScratchBuffer packed_a(sizeof(T) * kKC * mc * row_blocks);
  for (int64_t j0 = 0; j0 < n; j0 += kNC) {
    const int64_t nc = std::min(kNC, n - j0);
    for (int64_t p0 = 0; p0 < k; p0 += kKC) {
      const int64_t kc = std::min(kKC, k - p0);
      T *pb = packed_b.as<T>();
      // Panels of B are independent: pack them across the pool too.
      const int64_t panels = (nc + NR - 1) / NR;
      auto pack_panels = [&](int64_t lo, int64_t hi) {
        const int64_t j_lo = lo * NR, j_hi = std::min(nc, hi * NR);
        pack_b<T>(b, p0, kc, j0 + j_lo, j_hi - j_lo, pb + j_lo * kc);
      };
      if (threads > 1) parallel_for(panels, 4, pack_panels);
      else pack_panels(0, panels);
      auto run_rows = [&](int64_t lo, int64_t hi) {
        for (int64_t blk = lo; blk < hi; ++blk) {
          const int64_t i0 = blk * mc, rows = std::min(mc, m - i0);
          T *pa = packed_a.as<T>() + blk * mc * kKC;
          pack_a<T>(a, i0, rows, p0, kc, pa);
          compute_block<T>(rows, nc, kc, pa, pb, c + i0 * n + j0, n, p0 > 0);
        }
      };
      if (threads > 1) parallel_for(row_blocks, 1, run_rows);
      else run_rows(0, row_blocks);
    }
  }
}

}  // namespace

void matmul_kernel(const View &a, const View &b, const View &out) {
  const int64_t r = a.rank();
  const int64_t m = a.sizes[r - 2], k = a.sizes[r - 1], n = b.sizes[r - 1];
  const Shape batch(a.sizes.begin(), a.sizes.end() - 2);
  const int64_t batches = kiln::numel(batch);
  const int64_t esize = dtype_size(a.dtype);
  auto run_batch = [&](int64_t bi, bool parallel) {
    int64_t off_a = 0, off_b = 0, rem = bi;
    for (int64_t d = r - 3; d >= 0; --d) {
      off_a += (rem % batch[d]) * a.strides[d];
      off_b += (rem % batch[d]) * b.strides[d];
      rem /= batch[d];
    }
    Matrix ma{a.data + off_a * esize, m, k, a.strides[r - 2], a.strides[r - 1]};
    Matrix mb{b.data + off_b * esize, k, n, b.strides[r - 2], b.strides[r - 1]};
    visit_dtype(a.dtype, [&]<class T>() {
      if constexpr (std::is_same_v<T, bool>) KILN_UNREACHABLE("bool matmul reached the kernel");
      else gemm<T>(ma, mb, out.ptr<T>() + bi * m * n, parallel);
    });
  };
  // Many small products: one per thread. Few large ones: threads inside each product.
  if (batches >= num_threads() && batches > 1 && batches * m * n * k >= (int64_t{1} << 18)) {
    parallel_for(batches, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t bi = lo; bi < hi; ++bi) run_batch(bi, false);
    });
    return;
  }
  for (int64_t bi = 0; bi < batches; ++bi) run_batch(bi, true);
}

}  // namespace kiln::runtime
