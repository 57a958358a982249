// View: what an eager kernel sees of a tensor — a data pointer (offset applied), dtype,
// sizes and strides in elements. Kernels read any strides and write contiguous outputs.
#pragma once

#include <cstddef>

#include "ir/dtype.h"
#include "ir/layout.h"
#include "ir/shape.h"

namespace kiln::runtime {

struct View {
  std::byte *data = nullptr;
  DType dtype = DType::F32;
  Shape sizes;
  Shape strides;

  [[nodiscard]] int64_t numel() const { return kiln::numel(sizes); }
  [[nodiscard]] int64_t rank() const { return static_cast<int64_t>(sizes.size()); }
  [[nodiscard]] bool is_contiguous() const;
  template <class T>
  [[nodiscard]] T *ptr() const {
    return reinterpret_cast<T *>(data);
  }
};

inline bool View::is_contiguous() const { return kiln::is_contiguous(sizes, strides); }

// The view of `layout` over memory starting at `base` (the storage's first byte).
[[nodiscard]] inline View make_view(std::byte *base, DType dtype, const ir::Layout &layout) {
  return {base + layout.offset * dtype_size(dtype), dtype, layout.sizes, layout.strides};
}

}  // namespace kiln::runtime
