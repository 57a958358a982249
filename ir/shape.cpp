// Shape arithmetic shared by type inference, eager kernels and views.
#include "ir/shape.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "ir/diag.h"

namespace kiln {

int64_t numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      fail("shape {} has too many elements: the count overflows a 64-bit integer",
           format_shape(shape));
  return n;
}

Shape contiguous_strides(std::span<const int64_t> shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    if (__builtin_mul_overflow(s, std::max<int64_t>(shape[i], 1), &s))
      fail("shape {} is too large: its strides overflow a 64-bit integer", format_shape(shape));
  }
  return strides;
}

bool is_contiguous(std::span<const int64_t> sizes, std::span<const int64_t> strides) {
  int64_t expected = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] == 1) continue;
    if (strides[i] != expected) return numel(sizes) == 0;
    expected *= sizes[i];
  }
  return true;
}

std::string format_shape(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

Shape broadcast_shapes(std::string_view op, std::span<const int64_t> a,
                       std::span<const int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      fail("{}: shapes {} and {} cannot be broadcast together (dim {}: {} vs {})", op,
           format_shape(a), format_shape(b), i, da, db);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t normalize_dim(std::string_view op, int64_t dim, int64_t rank) {
  int64_t lo = rank == 0 ? -1 : -rank, hi = rank == 0 ? 0 : rank - 1;
  if (dim < lo || dim > hi)
    fail("{}: dim {} is out of range for a tensor of rank {}: expected a dim in [{}, {}]", op, dim,
         rank, lo, hi);
  return dim < 0 ? dim + std::max<int64_t>(rank, 1) : dim;
}

std::vector<int64_t> normalize_dims(std::string_view op, std::span<const int64_t> dims,
                                    int64_t rank) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < rank; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) {
    int64_t n = normalize_dim(op, d, rank);
    if (rank == 0) continue;  // dim 0 / -1 of a scalar names the scalar itself
    if (std::find(out.begin(), out.end(), n) != out.end())
      fail("{}: dim {} appears more than once in dims {}", op, n, format_shape(dims));
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kiln
