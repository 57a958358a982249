// The type rule of every op: output dtype and shape from operand types and attributes.
// Eager mode, the tracer and the verifier all call this one function, so they cannot
// disagree; it is also where every op validates its operands and throws kiln::Error.
#pragma once

#include <span>

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "ir/tensor_type.h"

namespace kiln {

[[nodiscard]] TensorType infer_type(OpKind op, std::span<const TensorType> operands,
                                    const Attrs &attrs);

// The reduced dims of a reduction op, normalised and sorted (empty attr = all dims).
[[nodiscard]] std::vector<int64_t> reduced_dims(OpKind op, const TensorType &input,
                                                const Attrs &attrs);

}  // namespace kiln
