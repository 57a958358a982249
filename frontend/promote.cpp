// Promotion and broadcasting helpers shared by the pointwise, nn and linalg frontends.
#include "promote.h"

#include "ir/diag.h"
#include "kiln/ops.h"

namespace kiln {

DType result_type(const Tensor &t, Scalar s) {
  const DType sd = s.default_dtype();
  auto category = [](DType d) { return d == DType::Bool ? 0 : is_integral(d) ? 1 : 2; };
  return category(sd) > category(t.dtype()) ? sd : t.dtype();
}

Tensor scalar_like(const Tensor &t, Scalar s) { return scalar_tensor(s, result_type(t, s)); }

DType common_dtype(const std::vector<Tensor> &ts) {
  DType d = ts.at(0).dtype();
  for (const Tensor &t : ts) d = promote_types(d, t.dtype());
  return d;
}

std::vector<Tensor> promote_and_broadcast(std::string_view op, std::vector<Tensor> ts,
                                          DType dtype) {
  for (size_t i = 0; i < ts.size(); ++i)
    if (!ts[i].defined()) fail("{}: argument {} is an undefined tensor", op, i);
  Shape shape = ts[0].sizes();
  for (size_t i = 1; i < ts.size(); ++i) shape = broadcast_shapes(op, shape, ts[i].sizes());
  for (Tensor &t : ts) {
    if (t.dtype() != dtype) t = t.to(dtype);
    if (t.sizes() != shape) t = broadcast_to(t, shape);
  }
  return ts;
}

}  // namespace kiln
