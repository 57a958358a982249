// Shapes and strides as plain vectors of int64, plus the rules every op shares:
// numel, contiguous strides, NumPy broadcasting, and dim normalisation with errors.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

using Shape = std::vector<int64_t>;

[[nodiscard]] int64_t numel(std::span<const int64_t> shape);
[[nodiscard]] Shape contiguous_strides(std::span<const int64_t> shape);
[[nodiscard]] std::string format_shape(std::span<const int64_t> shape);  // "[3,4]"
// Row-major dense: strides are the contiguous ones, ignoring size-1 dims; empty counts.
[[nodiscard]] bool is_contiguous(std::span<const int64_t> sizes, std::span<const int64_t> strides);

// NumPy broadcasting of two shapes; throws naming `op` and both shapes when impossible.
[[nodiscard]] Shape broadcast_shapes(std::string_view op, std::span<const int64_t> a,
                                     std::span<const int64_t> b);

// Maps dim in [-rank, rank) to [0, rank); throws naming op and the argument otherwise.
[[nodiscard]] int64_t normalize_dim(std::string_view op, int64_t dim, int64_t rank);

// Normalises a list of dims; an empty list means all dims. Rejects repeats.
[[nodiscard]] std::vector<int64_t> normalize_dims(std::string_view op,
                                                  std::span<const int64_t> dims, int64_t rank);

}  // namespace kiln
