// Type promotion and broadcasting for the frontend: the IR has neither implicitly, so
// the frontend converts and broadcasts operands before dispatching an elementwise op.
#pragma once

#include <string_view>
#include <vector>

#include "kiln/scalar.h"
#include "kiln/tensor.h"

namespace kiln {

// PyTorch's rule for tensor-scalar: the scalar only matters when it is of a higher
// category (bool < integer < floating), and then it contributes the default dtype.
[[nodiscard]] DType result_type(const Tensor &t, Scalar s);
// A 0-dim tensor holding s in the dtype t would be combined with.
[[nodiscard]] Tensor scalar_like(const Tensor &t, Scalar s);
// Converts each tensor to `dtype` and broadcasts all to their common shape (views).
[[nodiscard]] std::vector<Tensor> promote_and_broadcast(std::string_view op, std::vector<Tensor> ts,
                                                        DType dtype);
// The promoted dtype of all tensors.
[[nodiscard]] DType common_dtype(const std::vector<Tensor> &ts);

}  // namespace kiln
