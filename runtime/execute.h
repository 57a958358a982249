// Executing one op eagerly on Arrays: the path shared by eager dispatch and the evaluator.
#pragma once

#include <span>

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "runtime/array.h"
#include "runtime/view.h"

namespace kiln::runtime {

[[nodiscard]] inline View view_of(const Array &a) {
  return make_view(a.storage.data(), a.dtype, a.layout);
}

// A fresh contiguous array with uninitialised memory; throws kiln::Error for negative
// sizes or a size that cannot be allocated.
[[nodiscard]] Array empty_array(const Shape &shape, DType dtype);

// Runs one op: a view for movement ops whose result the input's strides can express,
// otherwise a new contiguous array of type `result` filled by the op's kernel.
// `result` must be infer_type's answer for these inputs.
[[nodiscard]] Array execute(OpKind op, std::span<const Array *const> inputs, const Attrs &attrs,
                            const TensorType &result);

}  // namespace kiln::runtime
