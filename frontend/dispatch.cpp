// Eager dispatch: infer the result type, then a view or a kernel launch.
#include "dispatch.h"

#include "ir/diag.h"
#include "ir/infer.h"
#include "runtime/kernels.h"
#include "runtime/reference/movement.h"

namespace kiln {
namespace {

constexpr size_t kInline = 4;  // most ops have at most this many operands

runtime::View view_of(const Tensor &t) {
  const detail::TensorImpl &impl = t.impl();
  return runtime::make_view(impl.storage.data(), impl.dtype, impl.layout);
}

Tensor with_layout(const Tensor &base, runtime::Layout layout) {
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->storage = base.impl().storage;
  impl->dtype = base.dtype();
  impl->layout = std::move(layout);
  return Tensor(std::move(impl));
}

}  // namespace

Tensor empty(const Shape &shape, DType dtype) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0) fail("empty: size at dim {} must be non-negative, got {}", i, shape[i]);
  const int64_t n = numel(shape);
  constexpr int64_t kMaxBytes = int64_t{1} << 46;
  if (n > kMaxBytes / dtype_size(dtype))
    fail("cannot allocate a {} tensor of shape {}: {} elements is too many", dtype_name(dtype),
         format_shape(shape), n);
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->storage = runtime::Storage::allocate(static_cast<size_t>(std::max<int64_t>(n, 1) * dtype_size(dtype)));
  impl->dtype = dtype;
  impl->layout = runtime::Layout::contiguous(shape);
  return Tensor(std::move(impl));
}

Tensor dispatch(OpKind op, std::span<const Tensor> inputs, const Attrs &attrs) {
  std::vector<TensorType> types;
  types.reserve(std::max(inputs.size(), kInline));
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) fail("{}: argument {} is an undefined tensor", op_name(op), i);
    types.push_back({inputs[i].dtype(), inputs[i].sizes()});
  }
  TensorType type = infer_type(op, types, attrs);

  if (op_info(op).category == OpCategory::Movement && op != OpKind::Cat) {
    if (auto layout = runtime::movement_view(op, inputs[0].impl().layout, attrs))
      return with_layout(inputs[0], std::move(*layout));
  }
  Tensor out = empty(type.shape, type.dtype);
  std::vector<runtime::View> views;
  views.reserve(inputs.size());
  for (const Tensor &t : inputs) views.push_back(view_of(t));
  runtime::run_kernel(op, views, attrs, view_of(out));
  return out;
}

Tensor dispatch(OpKind op, std::initializer_list<Tensor> inputs, const Attrs &attrs) {
  return dispatch(op, std::span<const Tensor>(inputs.begin(), inputs.size()), attrs);
}

}  // namespace kiln
