// View rules: permute, broadcast, slice, and when a reshape can be a view.
#include "ir/layout.h"

namespace kiln::ir {

Layout Layout::contiguous(Shape sizes) {
  Layout l;
  l.strides = contiguous_strides(sizes);
  l.sizes = std::move(sizes);
  return l;
}

bool Layout::is_contiguous() const { return kiln::is_contiguous(sizes, strides); }

Layout permute_layout(const Layout &in, std::span<const int64_t> perm) {
  Layout out{{}, {}, in.offset};
  for (int64_t p : perm) {
    out.sizes.push_back(in.sizes[p]);
    out.strides.push_back(in.strides[p]);
  }
  return out;
}

Layout broadcast_layout(const Layout &in, std::span<const int64_t> shape) {
  Layout out{Shape(shape.begin(), shape.end()), Shape(shape.size(), 0), in.offset};
  size_t lead = shape.size() - in.sizes.size();
  for (size_t i = 0; i < in.sizes.size(); ++i)
    out.strides[lead + i] = in.sizes[i] == 1 ? 0 : in.strides[i];
  return out;
}

Layout slice_layout(const Layout &in, int64_t dim, int64_t start, int64_t stop, int64_t step) {
  Layout out = in;
  out.sizes[dim] = stop > start ? 1 + (stop - start - 1) / step : 0;
  if (out.sizes[dim] > 0) out.offset += start * in.strides[dim];
  out.strides[dim] = in.strides[dim] * step;
  return out;
}

std::optional<Layout> reshape_layout(const Layout &in, std::span<const int64_t> shape) {
  Layout out{Shape(shape.begin(), shape.end()), Shape(shape.size(), 0), in.offset};
  if (numel(shape) == 0 || in.is_contiguous()) {
    out.strides = contiguous_strides(shape);
    return out;
  }
  // Walk both shapes in groups of dims with equal element counts; each input group must be
  // one contiguous run (ignoring size-1 dims) so it can be re-split with new strides.
  size_t i = 0, o = 0;
  while (i < in.sizes.size() || o < shape.size()) {
    int64_t in_count = 1, out_count = 1;
    size_t i0 = i, o0 = o;
    if (i < in.sizes.size()) in_count = in.sizes[i++];
    if (o < shape.size()) out_count = shape[o++];
    while (in_count != out_count) {
      if (in_count < out_count && i < in.sizes.size())
        in_count *= in.sizes[i++];
      else if (o < shape.size())
        out_count *= shape[o++];
      else
        return std::nullopt;
    }
    // The input group [i0, i) must be contiguous among its non-1 dims.
    int64_t inner_stride = 0;
    bool have = false;
    for (size_t d = i; d-- > i0;) {
      if (in.sizes[d] == 1) continue;
      if (have && in.strides[d] != inner_stride) return std::nullopt;
      inner_stride = in.strides[d] * in.sizes[d];
      have = true;
    }
    int64_t stride = 1;
    for (size_t d = i; d-- > i0;)
      if (in.sizes[d] != 1) {
        stride = in.strides[d];
        break;
      }
    for (size_t d = o; d-- > o0;) {
      out.strides[d] = stride;
      stride *= shape[d];
    }
  }
  return out;
}

}  // namespace kiln::ir
