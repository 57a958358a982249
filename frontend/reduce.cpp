// Reductions: attributes from the user's arguments; integer mean/var compute in f32.
#include "dispatch.h"
#include "ir/diag.h"
#include "kiln/ops.h"

namespace kiln {
namespace {

Tensor reduce(OpKind op, const Tensor &x, const Dims &dims, bool keepdim, Attrs attrs = {}) {
  if (!dims.values.empty()) attrs.set("dims", dims.values);
  if (keepdim) attrs.set("keepdim", true);
  return dispatch(op, {x}, attrs);
}

Tensor reduce_float(OpKind op, const Tensor &x, const Dims &dims, bool keepdim, Attrs attrs = {}) {
  if (x.defined() && !is_floating(x.dtype()))
    return reduce(op, x.to(DType::F32), dims, keepdim, attrs);
  return reduce(op, x, dims, keepdim, attrs);
}

Tensor arg_reduce(OpKind op, const Tensor &x, std::optional<int64_t> dim, bool keepdim) {
  if (dim) return reduce(op, x, *dim, keepdim);
  // Over the flattened tensor, like torch; keepdim keeps every dim as size 1.
  if (!x.defined()) fail("{}: argument 0 is an undefined tensor", op_name(op));
  Tensor flat = x.dim() == 0 ? x : x.reshape({-1});
  Tensor r = reduce(op, flat, {}, false);
  return keepdim ? r.reshape(Shape(x.dim(), 1)) : r;
}

}  // namespace

Tensor sum(const Tensor &x, Dims dims, bool keepdim) {
  return reduce(OpKind::Sum, x, dims, keepdim);
}
Tensor mean(const Tensor &x, Dims dims, bool keepdim) {
  if (x.defined() && !is_floating(x.dtype()))
    fail(
        "mean: input must be a floating-point tensor (f32 or f64), got {}\n  hint: convert first, "
        "e.g. mean(x.to(kiln::DType::F32))",
        dtype_name(x.dtype()));
  return reduce(OpKind::Mean, x, dims, keepdim);
}
Tensor max(const Tensor &x, Dims dims, bool keepdim) {
  return reduce(OpKind::Max, x, dims, keepdim);
}
Tensor min(const Tensor &x, Dims dims, bool keepdim) {
  return reduce(OpKind::Min, x, dims, keepdim);
}
Tensor prod(const Tensor &x, Dims dims, bool keepdim) {
  return reduce(OpKind::Prod, x, dims, keepdim);
}
Tensor argmax(const Tensor &x, std::optional<int64_t> dim, bool keepdim) {
  return arg_reduce(OpKind::Argmax, x, dim, keepdim);
}
Tensor argmin(const Tensor &x, std::optional<int64_t> dim, bool keepdim) {
  return arg_reduce(OpKind::Argmin, x, dim, keepdim);
}
Tensor var(const Tensor &x, Dims dims, bool unbiased, bool keepdim) {
  Attrs attrs;
  if (!unbiased) attrs.set("correction", int64_t{0});
  return reduce_float(OpKind::Var, x, dims, keepdim, attrs);
}
Tensor std(const Tensor &x, Dims dims, bool unbiased, bool keepdim) {
  Attrs attrs;
  if (!unbiased) attrs.set("correction", int64_t{0});
  return reduce_float(OpKind::Std, x, dims, keepdim, attrs);
}
Tensor all(const Tensor &x, Dims dims, bool keepdim) {
  return reduce(OpKind::All, x, dims, keepdim);
}
Tensor any(const Tensor &x, Dims dims, bool keepdim) {
  return reduce(OpKind::Any, x, dims, keepdim);
}
Tensor logsumexp(const Tensor &x, Dims dims, bool keepdim) {
  return reduce_float(OpKind::Logsumexp, x, dims, keepdim);
}

}  // namespace kiln
