// Layout: how a tensor's elements sit in its storage (sizes, strides in elements, offset).
// The view rules live here once: eager views in the frontend and copying kernels in the
// runtime both use them, so a view and its copy always agree element for element.
#pragma once

#include <optional>
#include <span>

#include "ir/shape.h"

namespace kiln::ir {

struct Layout {
  Shape sizes;
  Shape strides;
  int64_t offset = 0;

  [[nodiscard]] static Layout contiguous(Shape sizes);
  [[nodiscard]] bool is_contiguous() const;
};

[[nodiscard]] Layout permute_layout(const Layout &in, std::span<const int64_t> perm);
// Right-aligned NumPy broadcast: new leading dims and size-1 dims get stride 0.
[[nodiscard]] Layout broadcast_layout(const Layout &in, std::span<const int64_t> shape);
[[nodiscard]] Layout slice_layout(const Layout &in, int64_t dim, int64_t start, int64_t stop,
                                  int64_t step);
// The layout of `in` viewed as `shape`, or nullopt when the strides do not allow a view.
[[nodiscard]] std::optional<Layout> reshape_layout(const Layout &in,
                                                   std::span<const int64_t> shape);

}  // namespace kiln::ir
