// The dispatcher: the one place that decides how an op runs. Today every call runs
// eagerly; the tracer will add a trace mode here that records nodes instead.
#pragma once

#include <initializer_list>
#include <span>

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "kiln/tensor.h"

namespace kiln {

// Type-checks op (ir/infer), then either returns a view (movement ops whose result the
// input's strides can express) or allocates a contiguous result and runs the kernel.
[[nodiscard]] Tensor dispatch(OpKind op, std::span<const Tensor> inputs, const Attrs &attrs = {});
[[nodiscard]] Tensor dispatch(OpKind op, std::initializer_list<Tensor> inputs, const Attrs &attrs = {});

// A fresh contiguous tensor with uninitialised memory.
[[nodiscard]] Tensor empty(const Shape &shape, DType dtype);

}  // namespace kiln
