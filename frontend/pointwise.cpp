// Pointwise ops: promote, broadcast, dispatch. Math functions of integer tensors compute
// in f32, as in PyTorch.
#include "dispatch.h"
#include "ir/diag.h"
#include "kiln/ops.h"
#include "promote.h"

namespace kiln {
namespace {

Tensor unary(OpKind op, const Tensor &x, const Attrs &attrs = {}) {
  return dispatch(op, {x}, attrs);
}

// Ops defined on real numbers: integer and bool inputs are computed in f32.
Tensor unary_float(OpKind op, const Tensor &x, const Attrs &attrs = {}) {
  if (x.defined() && !is_floating(x.dtype())) return dispatch(op, {x.to(DType::F32)}, attrs);
  return dispatch(op, {x}, attrs);
}

Tensor binary(OpKind op, const Tensor &a, const Tensor &b, std::optional<DType> compute = {}) {
  if (!a.defined() || !b.defined())
    fail("{}: argument {} is an undefined tensor", op_name(op), a.defined() ? 1 : 0);
  DType d = compute.value_or(promote_types(a.dtype(), b.dtype()));
  auto ts = promote_and_broadcast(op_name(op), {a, b}, d);
  return dispatch(op, {ts[0], ts[1]});
}

Tensor binary_scalar(OpKind op, const Tensor &a, Scalar b) {
  if (!a.defined()) fail("{}: argument 0 is an undefined tensor", op_name(op));
  return binary(op, a, scalar_like(a, b), result_type(a, b));
}

Tensor divide(const Tensor &a, const Tensor &b, DType d) {
  return binary(OpKind::Div, a, b, is_floating(d) ? d : DType::F32);
}

Tensor logical(OpKind op, const Tensor &a, const Tensor &b) {
  return binary(op, a, b, DType::Bool);
}

}  // namespace

Tensor neg(const Tensor &x) { return unary(OpKind::Neg, x); }
Tensor abs(const Tensor &x) { return unary(OpKind::Abs, x); }
Tensor exp(const Tensor &x) { return unary_float(OpKind::Exp, x); }
Tensor log(const Tensor &x) { return unary_float(OpKind::Log, x); }
Tensor log1p(const Tensor &x) { return unary_float(OpKind::Log1p, x); }
Tensor expm1(const Tensor &x) { return unary_float(OpKind::Expm1, x); }
Tensor sqrt(const Tensor &x) { return unary_float(OpKind::Sqrt, x); }
Tensor rsqrt(const Tensor &x) { return unary_float(OpKind::Rsqrt, x); }
Tensor sin(const Tensor &x) { return unary_float(OpKind::Sin, x); }
Tensor cos(const Tensor &x) { return unary_float(OpKind::Cos, x); }
Tensor tanh(const Tensor &x) { return unary_float(OpKind::Tanh, x); }
Tensor sigmoid(const Tensor &x) { return unary_float(OpKind::Sigmoid, x); }
Tensor relu(const Tensor &x) { return unary(OpKind::Relu, x); }
Tensor silu(const Tensor &x) { return unary_float(OpKind::Silu, x); }
Tensor erf(const Tensor &x) { return unary_float(OpKind::Erf, x); }
Tensor reciprocal(const Tensor &x) { return unary_float(OpKind::Reciprocal, x); }
Tensor floor(const Tensor &x) { return unary(OpKind::Floor, x); }
Tensor ceil(const Tensor &x) { return unary(OpKind::Ceil, x); }
Tensor round(const Tensor &x) { return unary(OpKind::Round, x); }
Tensor sign(const Tensor &x) { return unary(OpKind::Sign, x); }
Tensor logical_not(const Tensor &x) { return unary(OpKind::LogicalNot, x); }

Tensor gelu(const Tensor &x, const std::string &approximate) {
  if (approximate != "none" && approximate != "tanh")
    fail("gelu: approximate must be 'none' or 'tanh', got '{}'", approximate);
  Attrs attrs;
  if (approximate == "tanh") attrs.set("approximate", true);
  return unary_float(OpKind::Gelu, x, attrs);
}

Tensor clamp(const Tensor &x, std::optional<Scalar> min, std::optional<Scalar> max) {
  if (!x.defined()) fail("clamp: argument 0 is an undefined tensor");
  DType d = x.dtype();
  Attrs attrs;
  for (auto [key, bound] : {std::pair{"min", min}, std::pair{"max", max}}) {
    if (!bound) continue;
    d = promote_types(d, result_type(x, *bound));
    if (bound->kind() == Scalar::Kind::Float)
      attrs.set(key, bound->to_double());
    else
      attrs.set(key, bound->to_int());
  }
  return dispatch(OpKind::Clamp, {x.dtype() == d ? x : x.to(d)}, attrs);
}

Tensor add(const Tensor &a, const Tensor &b) { return binary(OpKind::Add, a, b); }
Tensor sub(const Tensor &a, const Tensor &b) { return binary(OpKind::Sub, a, b); }
Tensor mul(const Tensor &a, const Tensor &b) { return binary(OpKind::Mul, a, b); }
Tensor div(const Tensor &a, const Tensor &b) {
  if (!a.defined() || !b.defined()) return binary(OpKind::Div, a, b);
  return divide(a, b, promote_types(a.dtype(), b.dtype()));
}
Tensor pow(const Tensor &a, const Tensor &b) { return binary(OpKind::Pow, a, b); }
Tensor maximum(const Tensor &a, const Tensor &b) { return binary(OpKind::Maximum, a, b); }
Tensor minimum(const Tensor &a, const Tensor &b) { return binary(OpKind::Minimum, a, b); }
Tensor fmod(const Tensor &a, const Tensor &b) { return binary(OpKind::Fmod, a, b); }
Tensor eq(const Tensor &a, const Tensor &b) { return binary(OpKind::Eq, a, b); }
Tensor ne(const Tensor &a, const Tensor &b) { return binary(OpKind::Ne, a, b); }
Tensor lt(const Tensor &a, const Tensor &b) { return binary(OpKind::Lt, a, b); }
Tensor le(const Tensor &a, const Tensor &b) { return binary(OpKind::Le, a, b); }
Tensor gt(const Tensor &a, const Tensor &b) { return binary(OpKind::Gt, a, b); }
Tensor ge(const Tensor &a, const Tensor &b) { return binary(OpKind::Ge, a, b); }
Tensor logical_and(const Tensor &a, const Tensor &b) { return logical(OpKind::LogicalAnd, a, b); }
Tensor logical_or(const Tensor &a, const Tensor &b) { return logical(OpKind::LogicalOr, a, b); }

Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b) {
  for (const Tensor *t : {&cond, &a, &b})
    if (!t->defined())
      fail("where: argument {} is an undefined tensor", t == &cond ? 0 : t == &a ? 1 : 2);
  if (cond.dtype() != DType::Bool)
    fail("where: condition must be a bool tensor, got {}", dtype_name(cond.dtype()));
  Shape shape =
      broadcast_shapes("where", broadcast_shapes("where", cond.sizes(), a.sizes()), b.sizes());
  auto ts = promote_and_broadcast("where", {a, b}, promote_types(a.dtype(), b.dtype()));
  return dispatch(OpKind::Where, {broadcast_to(cond, shape), broadcast_to(ts[0], shape),
                                  broadcast_to(ts[1], shape)});
}
Tensor where(const Tensor &cond, const Tensor &a, Scalar b) {
  if (!a.defined()) fail("where: argument 1 is an undefined tensor");
  DType d = result_type(a, b);
  return where(cond, a.to(d), scalar_tensor(b, d));
}
Tensor where(const Tensor &cond, Scalar a, const Tensor &b) {
  if (!b.defined()) fail("where: argument 2 is an undefined tensor");
  DType d = result_type(b, a);
  return where(cond, scalar_tensor(a, d), b.to(d));
}

Tensor add(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Add, a, b); }
Tensor sub(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Sub, a, b); }
Tensor mul(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Mul, a, b); }
Tensor div(const Tensor &a, Scalar b) {
  if (!a.defined()) fail("div: argument 0 is an undefined tensor");
  return divide(a, scalar_like(a, b), result_type(a, b));
}
Tensor pow(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Pow, a, b); }
Tensor maximum(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Maximum, a, b); }
Tensor minimum(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Minimum, a, b); }
Tensor fmod(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Fmod, a, b); }

Tensor operator+(const Tensor &a, const Tensor &b) { return add(a, b); }
Tensor operator-(const Tensor &a, const Tensor &b) { return sub(a, b); }
Tensor operator*(const Tensor &a, const Tensor &b) { return mul(a, b); }
Tensor operator/(const Tensor &a, const Tensor &b) { return div(a, b); }
Tensor operator+(const Tensor &a, Scalar b) { return add(a, b); }
Tensor operator-(const Tensor &a, Scalar b) { return sub(a, b); }
Tensor operator*(const Tensor &a, Scalar b) { return mul(a, b); }
Tensor operator/(const Tensor &a, Scalar b) { return div(a, b); }
Tensor operator+(Scalar a, const Tensor &b) { return add(b, a); }
Tensor operator-(Scalar a, const Tensor &b) { return sub(scalar_like(b, a), b); }
Tensor operator*(Scalar a, const Tensor &b) { return mul(b, a); }
Tensor operator/(Scalar a, const Tensor &b) { return div(scalar_like(b, a), b); }
Tensor operator-(const Tensor &x) { return neg(x); }
Tensor operator==(const Tensor &a, const Tensor &b) { return eq(a, b); }
Tensor operator!=(const Tensor &a, const Tensor &b) { return ne(a, b); }
Tensor operator<(const Tensor &a, const Tensor &b) { return lt(a, b); }
Tensor operator<=(const Tensor &a, const Tensor &b) { return le(a, b); }
Tensor operator>(const Tensor &a, const Tensor &b) { return gt(a, b); }
Tensor operator>=(const Tensor &a, const Tensor &b) { return ge(a, b); }
Tensor operator==(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Eq, a, b); }
Tensor operator!=(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Ne, a, b); }
Tensor operator<(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Lt, a, b); }
Tensor operator<=(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Le, a, b); }
Tensor operator>(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Gt, a, b); }
Tensor operator>=(const Tensor &a, Scalar b) { return binary_scalar(OpKind::Ge, a, b); }
Tensor operator&(const Tensor &a, const Tensor &b) { return logical_and(a, b); }
Tensor operator|(const Tensor &a, const Tensor &b) { return logical_or(a, b); }
Tensor operator!(const Tensor &x) { return logical_not(x); }

}  // namespace kiln
