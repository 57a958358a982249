// Allocation and one-op execution shared by eager dispatch and the evaluator.
#include "runtime/execute.h"

#include <algorithm>

#include "ir/diag.h"
#include "ir/movement_view.h"
#include "ir/small_buffer.h"
#include "runtime/kernels.h"
#include "runtime/reference/movement.h"

namespace kiln::runtime {

Array empty_array(const Shape &shape, DType dtype) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0) fail("empty: size at dim {} must be non-negative, got {}", i, shape[i]);
  const int64_t n = numel(shape);
  constexpr int64_t kMaxBytes = int64_t{1} << 46;
  if (n > kMaxBytes / dtype_size(dtype))
    fail("cannot allocate a {} tensor of shape {}: {} elements is too many", dtype_name(dtype),
         format_shape(shape), n);
  Array a;
  a.storage = Storage::allocate(static_cast<size_t>(std::max<int64_t>(n, 1) * dtype_size(dtype)));
  a.dtype = dtype;
  a.layout = ir::Layout::contiguous(shape);
  return a;
}

Array execute(OpKind op, std::span<const Array *const> inputs, const Attrs &attrs,
              const TensorType &result) {
  if (op_info(op).category == OpCategory::Movement && op != OpKind::Cat) {
    if (auto layout = ir::movement_view(op, inputs[0]->layout, attrs))
      return {inputs[0]->storage, inputs[0]->dtype, std::move(*layout)};
  }
  Array out = empty_array(result.shape, result.dtype);
  SmallBuffer<View, 4> views(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) views[i] = view_of(*inputs[i]);
  run_kernel(op, views.span(), attrs, view_of(out));
  return out;
}

}  // namespace kiln::runtime
