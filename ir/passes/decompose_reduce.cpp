// Decompositions of the float reductions (mean, var, std, logsumexp) into sum, max and
// elementwise primitives, following the eager kernels in runtime/reference/reduce.cpp.
#include <algorithm>

#include "ir/passes/decompose_rules.h"

namespace kiln::ir {
namespace {

// sum((x - mean(x))^2) / max(0, n - correction), as the eager kernel divides.
ValueId variance(Builder &b, const Node &n) {
  ValueId x = n.operands[0];
  TensorType t = b.type(x);
  std::vector<int64_t> dims = n.attrs.get_ints("dims");
  ValueId m = b.broadcast(b.mean(x, dims, true), t.shape);
  ValueId d = b.emit(OpKind::Sub, {x, m});
  ValueId s = b.reduce(OpKind::Sum, b.emit(OpKind::Mul, {d, d}), dims, n.attrs.get_bool("keepdim"));
  double divisor = std::max<double>(0.0, static_cast<double>(b.count(x, dims)) -
                                             static_cast<double>(n.attrs.get_int("correction", 1)));
  return b.emit(OpKind::Div, {s, b.constant(divisor, t.dtype, b.type(s).shape)});
}

}  // namespace

ValueId decompose_mean(Builder &b, const Node &n) {
  return b.mean(n.operands[0], n.attrs.get_ints("dims"), n.attrs.get_bool("keepdim"));
}

ValueId decompose_var(Builder &b, const Node &n) { return variance(b, n); }

ValueId decompose_std(Builder &b, const Node &n) { return b.emit(OpKind::Sqrt, {variance(b, n)}); }

// m + log(sum(exp(x - m))) with m the max, replaced by 0 where it is not finite: an all
// -inf row then gives -inf and a +inf max gives +inf, as the eager kernel returns.
ValueId decompose_logsumexp(Builder &b, const Node &n) {
  ValueId x = n.operands[0];
  TensorType t = b.type(x);
  std::vector<int64_t> dims = n.attrs.get_ints("dims");
  bool keepdim = n.attrs.get_bool("keepdim");
  ValueId m = b.reduce(OpKind::Max, x, dims, true);
  Shape kept = b.type(m).shape;
  ValueId zero = b.constant(0.0, t.dtype, kept);
  ValueId finite = b.emit(OpKind::Eq, {b.emit(OpKind::Sub, {m, m}), zero});  // inf - inf is NaN
  ValueId shift = b.emit(OpKind::Where, {finite, m, zero});
  ValueId e = b.emit(OpKind::Exp, {b.emit(OpKind::Sub, {x, b.broadcast(shift, t.shape)})});
  ValueId log_sum = b.emit(OpKind::Log, {b.reduce(OpKind::Sum, e, dims, keepdim)});
  if (!keepdim) shift = b.emit(OpKind::Reshape, {shift}, {{"shape", b.type(log_sum).shape}});
  return b.emit(OpKind::Add, {log_sum, shift});
}

}  // namespace kiln::ir
