// The dispatcher: the one place that decides how an op runs — eagerly now, or recorded
// into the trace that compile() has made active on this thread.
#pragma once

#include <initializer_list>
#include <span>

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "kiln/tensor.h"

namespace kiln {

// Type-checks op (ir/infer). In trace mode, records a node and returns a proxy; eagerly,
// returns a view (movement ops whose result the input's strides can express) or a new
// contiguous result computed by the op's kernel.
[[nodiscard]] Tensor dispatch(OpKind op, std::span<const Tensor> inputs, const Attrs &attrs = {});
[[nodiscard]] Tensor dispatch(OpKind op, std::initializer_list<Tensor> inputs,
                              const Attrs &attrs = {});

// A fresh contiguous tensor with uninitialised memory.
[[nodiscard]] Tensor empty(const Shape &shape, DType dtype);

}  // namespace kiln
