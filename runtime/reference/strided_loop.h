// The one loop every elementwise kernel uses: walk N input views and a contiguous output
// of the same shape as rows of an innermost dim, after merging dims that are contiguous in
// every operand. Rows (or chunks of one long row) are split across the thread pool, and
// the row body sees unit or zero inner strides it can vectorize on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "runtime/thread_pool.h"
#include "runtime/view.h"

namespace kiln::runtime {

// Elements per parallel chunk: below this, threading costs more than it gains.
inline constexpr int64_t kParallelGrain = 32768;

template <size_t N>
struct RowLayout {
  Shape sizes;                   // merged dims, innermost last
  std::array<Shape, N> strides;  // per input, in elements
};

template <size_t N>
RowLayout<N> merge_dims(const Shape &sizes, const std::array<const View *, N> &in) {
  RowLayout<N> layout;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    bool mergeable = !layout.sizes.empty();
    for (size_t k = 0; k < N && mergeable; ++k)
      mergeable = layout.strides[k].back() == in[k]->strides[d] * sizes[d];
    if (mergeable) {
      layout.sizes.back() *= sizes[d];
      for (size_t k = 0; k < N; ++k) layout.strides[k].back() = in[k]->strides[d];
      continue;
    }
    layout.sizes.push_back(sizes[d]);
    for (size_t k = 0; k < N; ++k) layout.strides[k].push_back(in[k]->strides[d]);
  }
  if (layout.sizes.empty()) {
    layout.sizes.push_back(1);
    for (size_t k = 0; k < N; ++k) layout.strides[k].push_back(0);
  }
  return layout;
}

// row(out_elem_index, input_pointers, inner_strides, count) is called for every stretch of
// `count` consecutive output elements starting at out_elem_index.
template <size_t N, class RowFn>
void for_each_row(const Shape &sizes, const std::array<const View *, N> &in, RowFn &&row) {
  int64_t total = kiln::numel(sizes);
  if (total == 0) return;
  RowLayout<N> layout = merge_dims<N>(sizes, in);
  const int64_t inner = layout.sizes.back();
  const int64_t rows = total / inner;
  const int64_t outer_rank = static_cast<int64_t>(layout.sizes.size()) - 1;
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = layout.strides[k].back();

  // Chunks of one row when rows are few and long; whole rows otherwise.
  const int64_t pieces = rows >= 8 ? 1 : std::max<int64_t>(1, inner / kParallelGrain);
  const int64_t piece_len = (inner + pieces - 1) / pieces;
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::min(inner, piece_len));
  parallel_for(rows * pieces, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      int64_t r = t / pieces, piece = t % pieces;
      int64_t begin = piece * piece_len, count = std::min(inner, begin + piece_len) - begin;
      if (count <= 0) continue;
      std::array<const std::byte *, N> ptrs;
      for (size_t k = 0; k < N; ++k) {
        int64_t offset = 0, rem = r;
        for (int64_t d = outer_rank - 1; d >= 0; --d) {
          offset += (rem % layout.sizes[d]) * layout.strides[k][d];
          rem /= layout.sizes[d];
        }
        offset += begin * inner_strides[k];
        ptrs[k] = in[k]->data + offset * dtype_size(in[k]->dtype);
      }
      row(r * inner + begin, ptrs, inner_strides, count);
    }
  });
}

}  // namespace kiln::runtime
