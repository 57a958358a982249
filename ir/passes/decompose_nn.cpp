// Decompositions of the nn composites (softmax, log_softmax, layer_norm, rms_norm, gelu,
// silu, mse_loss) into primitives, following the eager kernels in runtime/reference/.
#include "ir/passes/decompose_rules.h"

namespace kiln::ir {
namespace {

// The dims a softmax reduces: just its `dim`, normalised.
std::vector<int64_t> softmax_dims(const Builder &b, const Node &n) {
  int64_t rank = static_cast<int64_t>(b.type(n.operands[0]).shape.size());
  return {normalize_dim(op_name(n.op), n.attrs.get_int("dim", -1), rank)};
}

// x - max(x) over the softmax dim, broadcast back.
ValueId shifted(Builder &b, const Node &n) {
  ValueId x = n.operands[0];
  ValueId m = b.reduce(OpKind::Max, x, softmax_dims(b, n), true);
  return b.emit(OpKind::Sub, {x, b.broadcast(m, b.type(x).shape)});
}

// The trailing `axes` dims a norm normalises over.
std::vector<int64_t> norm_dims(const Builder &b, const Node &n) {
  int64_t rank = static_cast<int64_t>(b.type(n.operands[0]).shape.size());
  std::vector<int64_t> dims;
  for (int64_t d = rank - n.attrs.get_int("axes", 1); d < rank; ++d) dims.push_back(d);
  return dims;
}

// y * rsqrt(var + eps), then times the optional weight and plus the optional bias.
ValueId normalize(Builder &b, const Node &n, ValueId y, ValueId var, double eps) {
  TensorType t = b.type(y);
  ValueId sum = b.emit(OpKind::Add, {var, b.constant(eps, t.dtype, b.type(var).shape)});
  ValueId rstd = b.emit(OpKind::Rsqrt, {sum});
  y = b.emit(OpKind::Mul, {y, b.broadcast(rstd, t.shape)});
  if (n.operands.size() > 1) y = b.emit(OpKind::Mul, {y, b.broadcast(n.operands[1], t.shape)});
  if (n.operands.size() > 2) y = b.emit(OpKind::Add, {y, b.broadcast(n.operands[2], t.shape)});
  return y;
}

ValueId scaled(Builder &b, double k, ValueId x) {
  TensorType t = b.type(x);
  return b.emit(OpKind::Mul, {b.constant(k, t.dtype, t.shape), x});
}

}  // namespace

// exp(x - max) / sum(exp(x - max)). An all -inf row gives NaN, as the eager kernel does.
ValueId decompose_softmax(Builder &b, const Node &n) {
  Shape shape = b.type(n.operands[0]).shape;
  ValueId e = b.emit(OpKind::Exp, {shifted(b, n)});
  ValueId s = b.reduce(OpKind::Sum, e, softmax_dims(b, n), true);
  return b.emit(OpKind::Div, {e, b.broadcast(s, shape)});
}

// (x - max) - log(sum(exp(x - max))): subtracting the max first keeps precision.
ValueId decompose_log_softmax(Builder &b, const Node &n) {
  Shape shape = b.type(n.operands[0]).shape;
  ValueId d = shifted(b, n);
  ValueId s = b.reduce(OpKind::Sum, b.emit(OpKind::Exp, {d}), softmax_dims(b, n), true);
  return b.emit(OpKind::Sub, {d, b.broadcast(b.emit(OpKind::Log, {s}), shape)});
}

// (x - mean) * rsqrt(mean((x - mean)^2) + eps) [* weight] [+ bias].
ValueId decompose_layer_norm(Builder &b, const Node &n) {
  ValueId x = n.operands[0];
  std::vector<int64_t> dims = norm_dims(b, n);
  ValueId mu = b.broadcast(b.mean(x, dims, true), b.type(x).shape);
  ValueId d = b.emit(OpKind::Sub, {x, mu});
  ValueId var = b.mean(b.emit(OpKind::Mul, {d, d}), dims, true);
  return normalize(b, n, d, var, n.attrs.get_double("eps", 1e-5));
}

// x * rsqrt(mean(x^2) + eps) [* weight].
ValueId decompose_rms_norm(Builder &b, const Node &n) {
  ValueId x = n.operands[0];
  ValueId ms = b.mean(b.emit(OpKind::Mul, {x, x}), norm_dims(b, n), true);
  return normalize(b, n, x, ms, n.attrs.get_double("eps", 1e-6));
}

// 0.5 x (1 + erf(x / sqrt 2)), or with approximate=true
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
ValueId decompose_gelu(Builder &b, const Node &n) {
  ValueId x = n.operands[0];
  TensorType t = b.type(x);
  ValueId inner;
  if (n.attrs.get_bool("approximate")) {
    ValueId cube = b.emit(OpKind::Mul, {b.emit(OpKind::Mul, {scaled(b, 0.044715, x), x}), x});
    ValueId arg = scaled(b, 0.7978845608028654, b.emit(OpKind::Add, {x, cube}));
    inner = b.emit(OpKind::Tanh, {arg});
  } else {
    inner = b.emit(OpKind::Erf,
                   {b.emit(OpKind::Mul, {x, b.constant(0.7071067811865476, t.dtype, t.shape)})});
  }
  ValueId one_plus = b.emit(OpKind::Add, {b.constant(1.0, t.dtype, t.shape), inner});
  return b.emit(OpKind::Mul, {scaled(b, 0.5, x), one_plus});
}

// x * sigmoid(x).
ValueId decompose_silu(Builder &b, const Node &n) {
  ValueId x = n.operands[0];
  return b.emit(OpKind::Mul, {x, b.emit(OpKind::Sigmoid, {x})});
}

// (a - b)^2, then summed or averaged over every element unless reduction is "none".
ValueId decompose_mse_loss(Builder &b, const Node &n) {
  ValueId d = b.emit(OpKind::Sub, {n.operands[0], n.operands[1]});
  ValueId sq = b.emit(OpKind::Mul, {d, d});
  std::string mode = n.attrs.get_string("reduction", "mean");
  if (mode == "none") return sq;
  if (mode == "sum") return b.reduce(OpKind::Sum, sq, {}, false);
  return b.mean(sq, {}, false);
}

}  // namespace kiln::ir
