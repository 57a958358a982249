// The GEMM driver (Goto/BLIS): per nc-wide block of B and kc-deep block of the depth, B is
// packed into kc x nr slivers, then each task packs mc x kc of A and calls the micro-kernel
// on every mr x nr tile. Packing reads any strides, so a transposed operand needs no copy.
#include "runtime/gemm.h"

#include <algorithm>

#include "ir/diag.h"
#include "runtime/allocator.h"
#include "runtime/thread_pool.h"

namespace kiln::runtime {
namespace {

template <class T>
struct Matrix {  // one batch's operand
  const T *data;
  int64_t row_stride, col_stride;
  const T *at(int64_t r, int64_t c) const { return data + r * row_stride + c * col_stride; }
};

// An operand of any stored dtype, which packing converts to the GEMM's.
struct Operand {
  const std::byte *data;  // this batch's first element
  DType dtype;
  int64_t row_stride, col_stride;
  template <class S>
  Matrix<S> as() const {
    return {reinterpret_cast<const S *>(data), row_stride, col_stride};
  }
};

int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// Packing a row-major A (or a transposed B) is a transpose: element by element it cost a
// tenth of a 512x4096x1024 product. This moves a block of R rows by 8 columns of floats at
// a time: row r of src (stride src_stride) becomes element r of the 8 columns written at
// dst + c * dst_stride, in the AVX unpack/shuffle/permute sequence (GCC and Clang pick the
// instructions for the target). R < 8 serves AVX2's 6-row tiles and the last rows of a panel.
using Float8 = float __attribute__((vector_size(32)));

template <int R>
void transpose_block(const float *src, int64_t src_stride, float *dst, int64_t dst_stride) {
  Float8 r[8] = {};
  for (int i = 0; i < R; ++i) __builtin_memcpy(&r[i], src + i * src_stride, sizeof(Float8));
  Float8 t[8], u[8];
  for (int i = 0; i < 4; ++i) {  // pairs of rows interleaved within each half
    t[2 * i] = __builtin_shufflevector(r[2 * i], r[2 * i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[2 * i + 1] = __builtin_shufflevector(r[2 * i], r[2 * i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int h = 0; h < 2; ++h)  // then pairs of pairs: each half holds 4 rows of one column
    for (int i = 0; i < 2; ++i) {
      const Float8 &lo = t[4 * h + i], &hi = t[4 * h + 2 + i];
      u[4 * h + 2 * i] = __builtin_shufflevector(lo, hi, 0, 1, 8, 9, 4, 5, 12, 13);
      u[4 * h + 2 * i + 1] = __builtin_shufflevector(lo, hi, 2, 3, 10, 11, 6, 7, 14, 15);
    }
  for (int c = 0; c < 4; ++c) {  // the halves joined: columns c and c + 4
    const Float8 lo = __builtin_shufflevector(u[c], u[4 + c], 0, 1, 2, 3, 8, 9, 10, 11);
    const Float8 hi = __builtin_shufflevector(u[c], u[4 + c], 4, 5, 6, 7, 12, 13, 14, 15);
    __builtin_memcpy(dst + c * dst_stride, &lo, R * sizeof(float));
    __builtin_memcpy(dst + (c + 4) * dst_stride, &hi, R * sizeof(float));
  }
}

// dst[k * dst_stride + i] = src[i * src_stride + k] for i < rows, k < depth: blocks of up
// to 8 rows by 8 depth steps by transpose_block, the depth's remainder element by element.
void transpose_floats(const float *src, int64_t src_stride, int64_t rows, int64_t depth, float *dst,
                      int64_t dst_stride) {
  using Block = void (*)(const float *, int64_t, float *, int64_t);
  static constexpr Block kBlocks[] = {nullptr,
                                      transpose_block<1>,
                                      transpose_block<2>,
                                      transpose_block<3>,
                                      transpose_block<4>,
                                      transpose_block<5>,
                                      transpose_block<6>,
                                      transpose_block<7>,
                                      transpose_block<8>};
  const int64_t depth8 = depth / 8 * 8;
  for (int64_t i = 0; i < rows; i += 8) {
    const float *from = src + i * src_stride;
    float *to = dst + i;
    if (rows - i >= 8) {  // the common case, inlined
      for (int64_t k = 0; k < depth8; k += 8)
        transpose_block<8>(from + k, src_stride, to + k * dst_stride, dst_stride);
      continue;
    }
    const Block block = kBlocks[rows - i];
    for (int64_t k = 0; k < depth8; k += 8)
      block(from + k, src_stride, to + k * dst_stride, dst_stride);
  }
  for (int64_t k = depth8; k < depth; ++k)
    for (int64_t i = 0; i < rows; ++i) dst[k * dst_stride + i] = src[i * src_stride + k];
}

// packed[panel][k][nr] for B's rows [p0, p0+kc) and columns [j0, j0+nc), zero-padded,
// converted from B's dtype S to T on the way (a matmul's prologue cast).
template <class T, class S>
void pack_b(const Matrix<S> &b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int64_t nr,
            T *packed) {
  for (int64_t jp = 0; jp < nc; jp += nr) {
    const int64_t w = std::min(nr, nc - jp);
    T *dst = packed + jp * kc;
    if (w < nr)
      for (int64_t k = 0; k < kc; ++k) std::fill(dst + k * nr + w, dst + (k + 1) * nr, T(0));
    if (b.col_stride == 1) {  // a plain loop: a library copy of 32 floats costs its call
      for (int64_t k = 0; k < kc; ++k) {
        const S *src = b.at(p0 + k, j0 + jp);
        T *row = dst + k * nr;
        for (int64_t j = 0; j < w; ++j) row[j] = static_cast<T>(src[j]);
      }
      continue;
    }
    if constexpr (std::is_same_v<T, float> && std::is_same_v<S, float>)
      if (b.row_stride == 1) {  // a transposed B, its stored rows contiguous
        transpose_floats(b.at(p0, j0 + jp), b.col_stride, w, kc, dst, nr);
        continue;
      }
    for (int64_t j = 0; j < w; ++j) {  // a transposed B: walk down its stored rows
      const S *src = b.at(p0, j0 + jp + j);
      for (int64_t k = 0; k < kc; ++k) dst[k * nr + j] = static_cast<T>(src[k * b.row_stride]);
    }
  }
}

// packed[panel][k][mr] for A's rows [i0, i0+mc) and columns [p0, p0+kc), zero-padded,
// converted from A's dtype S to T.
template <class T, class S>
void pack_a(const Matrix<S> &a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int64_t mr,
            T *packed) {
  for (int64_t ip = 0; ip < mc; ip += mr) {
    const int64_t h = std::min(mr, mc - ip);
    T *dst = packed + ip * kc;
    if (h < mr)
      for (int64_t k = 0; k < kc; ++k) std::fill(dst + k * mr + h, dst + (k + 1) * mr, T(0));
    const S *src = a.at(i0 + ip, p0);
    if constexpr (std::is_same_v<T, float> && std::is_same_v<S, float>)
      if (a.col_stride == 1) {  // row-major A
        transpose_floats(src, a.row_stride, h, kc, dst, mr);
        continue;
      }
    if (a.row_stride == 1) {  // a transposed A: each depth step is a contiguous column
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t i = 0; i < h; ++i) dst[k * mr + i] = static_cast<T>(src[k * a.col_stride + i]);
      continue;
    }
    // Depth outer, rows inner: each step writes one contiguous column of the sliver.
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t i = 0; i < h; ++i)
        dst[k * mr + i] = static_cast<T>(src[i * a.row_stride + k * a.col_stride]);
  }
}

struct Problem {
  int64_t m, n, k;
  int64_t row_base;      // the epilogue row of this product's first row (batch * m)
  const int64_t *sizes;  // the symbols' (GemmTileArgs::sizes)
};

// The product's columns [j_begin, j_end), with `threads` sharing each packed block of B and
// splitting its rows.
template <class T>
void gemm_columns(const GemmCall &call, GemmMicroFn micro, const Problem &p, const Operand &a,
                  const Operand &b, T *partial, void *const *args, int threads, int64_t j_begin,
                  int64_t j_end) {
  const ir::GemmTile &t = call.tile;
  // Row blocks: at most t.mc rows, and enough blocks to keep every thread busy.
  const int64_t mc = round_up(
      std::clamp<int64_t>((p.m + threads - 1) / threads, t.mr, std::max(t.mc, t.mr)), t.mr);
  const int64_t row_blocks = (p.m + mc - 1) / mc;
  const int64_t kc_max = std::clamp<int64_t>(p.k, 1, t.kc);
  const int64_t nc_max = std::min(t.nc, round_up(j_end - j_begin, t.nr));
  ScratchBuffer packed_b(sizeof(T) * kc_max * nc_max);
  for (int64_t j0 = j_begin; j0 < j_end; j0 += t.nc) {
    const int64_t nc = std::min(t.nc, j_end - j0);
    // An empty depth still runs one block: the epilogue sees a product of zeros.
    for (int64_t p0 = 0; p0 == 0 || p0 < p.k; p0 += t.kc) {
      const int64_t kc = std::min(t.kc, p.k - p0);
      const int64_t flags = (p0 > 0 ? kGemmAccumulate : 0) | (p0 + kc >= p.k ? kGemmFinish : 0);
      T *pb = packed_b.as<T>();
      const int64_t panels = (nc + t.nr - 1) / t.nr;
      auto pack_panels = [&](int64_t lo, int64_t hi) {
        const int64_t j_lo = lo * t.nr, j_hi = std::min(nc, hi * t.nr);
        visit_dtype(b.dtype, [&]<class S>() {
          pack_b<T, S>(b.as<S>(), p0, kc, j0 + j_lo, j_hi - j_lo, t.nr, pb + j_lo * kc);
        });
      };
      if (kc == 0) {  // nothing to pack (and no element to point at)
      } else if (threads > 1) {
        parallel_for(panels, 4, pack_panels);
      } else {
        pack_panels(0, panels);
      }
      auto run_rows = [&](int64_t lo, int64_t hi) {
        ScratchBuffer packed_a(sizeof(T) * kc_max * mc);  // this task's block of A
        for (int64_t blk = lo; blk < hi; ++blk) {
          const int64_t i0 = blk * mc, rows = std::min(mc, p.m - i0);
          T *pa = packed_a.as<T>();
          if (kc > 0)
            visit_dtype(a.dtype,
                        [&]<class S>() { pack_a<T, S>(a.as<S>(), i0, rows, p0, kc, t.mr, pa); });
          for (int64_t jr = 0; jr < nc; jr += t.nr)
            for (int64_t ir = 0; ir < rows; ir += t.mr) {
              GemmTileArgs tile{
                  .packed_a = pa + ir * kc,
                  .packed_b = pb + jr * kc,
                  .depth = kc,
                  .partial = partial == nullptr ? nullptr : partial + (i0 + ir) * p.n + j0 + jr,
                  .ldc = p.n,
                  .row = p.row_base + i0 + ir,
                  .col = j0 + jr,
                  .rows = std::min(t.mr, rows - ir),
                  .cols = std::min(t.nr, nc - jr),
                  .flags = flags,
                  .args = args,
                  .sizes = p.sizes};
              micro(&tile);
            }
        }
      };
      if (threads > 1)
        parallel_for(row_blocks, 1, run_rows);
      else
        run_rows(0, row_blocks);
    }
  }
}

template <class T>
void gemm(const GemmCall &call, GemmMicroFn micro, const Problem &p, const Operand &a,
          const Operand &b, T *partial, void *const *args, bool parallel) {
  if (p.m == 0 || p.n == 0) return;
  const int threads = parallel && p.m * p.n * p.k >= call.parallel_work ? num_threads() : 1;
  // Each thread its own columns, B packed by itself: no barrier until the end. Too few
  // columns for every thread (a chosen split reused at another n) split the rows instead.
  const int64_t width = round_up((p.n + threads - 1) / threads, call.tile.nr);
  const int64_t chunks = (p.n + width - 1) / width;
  if (threads > 1 && call.split_columns && chunks >= threads) {
    parallel_for(chunks, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c)
        gemm_columns<T>(call, micro, p, a, b, partial, args, 1, c * width,
                        std::min(p.n, (c + 1) * width));
    });
    return;
  }
  gemm_columns<T>(call, micro, p, a, b, partial, args, threads, 0, p.n);
}

template <class T>
void run_typed(const GemmCall &call, GemmMicroFn micro, const View &a, const View &b,
               void *const *args, const int64_t *sizes) {
  const size_t r = a.sizes.size();
  KILN_CHECK(r >= 2 && b.sizes.size() == r, "gemm operands must have equal rank >= 2");
  const int64_t m = a.sizes[r - 2], k = a.sizes[r - 1], n = b.sizes[r - 1];
  int64_t batches = 1;
  for (size_t d = 0; d + 2 < r; ++d) batches *= a.sizes[d];
  // Partial sums live in the output they end in when there is one, else in scratch; a
  // product of one depth block never needs them.
  T *partial = call.partial >= 0 ? static_cast<T *>(args[call.partial]) : nullptr;
  const bool need_scratch = partial == nullptr && k > call.tile.kc;
  ScratchBuffer scratch(need_scratch ? sizeof(T) * static_cast<size_t>(batches * m * n) : 0);
  if (need_scratch) partial = scratch.as<T>();
  auto run_batch = [&](int64_t bi, bool parallel) {
    int64_t off_a = 0, off_b = 0, rem = bi;
    for (size_t d = r - 2; d-- > 0;) {
      const int64_t i = rem % a.sizes[d];
      off_a += i * a.strides[d];
      off_b += i * b.strides[d];
      rem /= a.sizes[d];
    }
    const Operand ma{a.data + off_a * dtype_size(a.dtype), a.dtype, a.strides[r - 2],
                     a.strides[r - 1]};
    const Operand mb{b.data + off_b * dtype_size(b.dtype), b.dtype, b.strides[r - 2],
                     b.strides[r - 1]};
    T *c = partial == nullptr ? nullptr : partial + bi * m * n;
    gemm<T>(call, micro, {m, n, k, bi * m, sizes}, ma, mb, c, args, parallel);
  };
  // Many small products: one per thread. Few large ones: threads inside each product.
  if (batches >= num_threads() && batches > 1 && batches * m * n * k >= call.parallel_work) {
    parallel_for(batches, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t bi = lo; bi < hi; ++bi) run_batch(bi, false);
    });
    return;
  }
  for (int64_t bi = 0; bi < batches; ++bi) run_batch(bi, true);
}

}  // namespace

int64_t gemm_scratch_bytes(const GemmCall &call, const Shape &a, const Shape &b) {
  const ir::GemmTile &t = call.tile;
  const size_t r = a.size();
  if (r < 2 || b.size() != r) return 0;
  const int64_t m = a[r - 2], k = a[r - 1], n = b[r - 1];
  const int64_t kc = std::clamp<int64_t>(k, 1, t.kc), nc = std::min(t.nc, round_up(n, t.nr));
  const int64_t esize = dtype_size(call.dtype), tasks = num_threads();
  // At most: every thread packing its own B (products split across threads) and A block.
  int64_t bytes =
      m > 0 && n > 0 ? esize * kc * tasks * (nc + round_up(std::max(t.mc, t.mr), t.mr)) : 0;
  if (call.partial < 0 && k > t.kc) bytes += esize * numel(Shape(a.begin(), a.end() - 1)) * n;
  return bytes;
}

void run_gemm(const GemmCall &call, GemmMicroFn micro, const View &a, const View &b,
              void *const *args, const int64_t *sizes) {
  const ir::GemmTile &t = call.tile;
  KILN_CHECK(micro != nullptr, "gemm step has no micro-kernel");
  KILN_CHECK(t.mr >= 1 && t.nr >= 1 && t.kc >= 1 && t.mc >= 1 && t.nc % t.nr == 0,
             "gemm tile mr={} nr={} kc={} mc={} nc={}: sizes must be positive, nc a multiple of nr",
             t.mr, t.nr, t.kc, t.mc, t.nc);
  KILN_CHECK(a.dtype == call.a_dtype && b.dtype == call.b_dtype,
             "gemm operands are {} and {}, the kernel reads {} and {}", dtype_name(a.dtype),
             dtype_name(b.dtype), dtype_name(call.a_dtype), dtype_name(call.b_dtype));
  visit_dtype(call.dtype, [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>)
      KILN_UNREACHABLE("bool gemm");
    else
      run_typed<T>(call, micro, a, b, args, sizes);
  });
}

}  // namespace kiln::runtime
