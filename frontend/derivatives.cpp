// The gradient formula of every op in ir/ops.def, written with kiln ops so that a backward
// traced by compile() is recorded, fused and lowered like the forward. The switch has no
// default: a new op row does not compile until it says how (or whether) it differentiates.
// Formulas follow PyTorch's derivatives.yaml, including its choices at kinks (ties of
// max/min share the gradient; relu'(0) = 0; clamp passes it at the bounds).
#include <cmath>
#include <numbers>

#include "autograd.h"
#include "dispatch.h"
#include "ir/diag.h"
#include "ir/infer.h"
#include "kiln/ops.h"

namespace kiln::autograd {
namespace {

using Grads = std::vector<Tensor>;

// The dims a reduction node reduced, normalized; all dims when its attrs name none.
std::vector<int64_t> reduced(const Node &n) {
  const Tensor &x = n.input(0);
  std::vector<int64_t> dims = reduced_dims(n.op, {x.dtype(), x.sizes()}, n.attrs);
  if (dims.empty())
    for (int64_t d = 0; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// A reduction's output-shaped tensor t, broadcast back over the reduced dims of x.
Tensor unreduce(const Tensor &t, const Shape &x_shape, const std::vector<int64_t> &dims,
                bool keepdim) {
  Tensor kept = t;
  if (!keepdim) {
    Shape shape = x_shape;
    for (int64_t d : dims) shape[static_cast<size_t>(d)] = 1;
    kept = reshape(t, shape);
  }
  return broadcast_to(kept, x_shape);
}

// The gradient of a broadcast: g summed over the dims that broadcasting made, in shape.
Tensor sum_to(const Tensor &g, const Shape &shape) {
  const int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < g.dim(); ++d)
    if (d < lead || (shape[static_cast<size_t>(d - lead)] == 1 && g.size(d) != 1))
      dims.push_back(d);
  Tensor r = dims.empty() ? g : sum(g, dims, /*keepdim=*/true);
  return reshape(r, shape);
}

Tensor zeros_with(const Tensor &like, int64_t dim, int64_t size) {
  Shape shape = like.sizes();
  shape[static_cast<size_t>(dim)] = size;
  return zeros(shape, like.dtype());
}

// The gradient of x[start:stop:step] along dim: g at the positions read, zeros elsewhere.
Tensor unslice(const Tensor &g, const Shape &x_shape, const Attrs &attrs) {
  const int64_t rank = static_cast<int64_t>(x_shape.size());
  const int64_t dim = normalize_dim("slice", attrs.get_int("dim"), rank);
  const int64_t size = x_shape[static_cast<size_t>(dim)];
  const int64_t start = attrs.get_int("start"), step = attrs.get_int("step", 1);
  const int64_t count = g.size(dim);
  Tensor spread = g;  // g's rows `step` apart, starting at start
  int64_t covered = count;
  if (step > 1 && count > 0) {
    Tensor rows = unsqueeze(g, dim + 1);
    Shape gap = rows.sizes();
    gap[static_cast<size_t>(dim + 1)] = step - 1;
    Shape merged = g.sizes();
    merged[static_cast<size_t>(dim)] = count * step;
    covered = std::min(count * step, size - start);
    spread = narrow(reshape(cat({rows, zeros(gap, g.dtype())}, dim + 1), merged), dim, 0, covered);
  }
  std::vector<Tensor> parts;
  if (start > 0) parts.push_back(zeros_with(g, dim, start));
  parts.push_back(spread);
  if (size - start - covered > 0) parts.push_back(zeros_with(g, dim, size - start - covered));
  return parts.size() == 1 ? spread : cat(parts, dim);
}

Tensor as_dtype_of(const Tensor &t, const Tensor &like) { return t.to(like.dtype()); }

// Whether operand i of a matmul node came from a permute that swaps the last two dims.
bool transposed_operand(const Node &n, size_t i) {
  const Node *from = n.next[i].node.get();
  if (from == nullptr || from->op != OpKind::Permute) return false;
  const std::vector<int64_t> perm = from->attrs.get_ints("perm");
  const int64_t r = static_cast<int64_t>(perm.size());
  if (r < 2) return false;
  for (int64_t d = 0; d < r; ++d) {
    const int64_t want = d == r - 2 ? r - 1 : d == r - 1 ? r - 2 : d;
    if (normalize_dim("permute", perm[static_cast<size_t>(d)], r) != want) return false;
  }
  return true;
}

// Reduction sizes as the dtype's scalar: how many elements each output averaged.
double reduced_count(const Node &n) {
  double count = 1;
  for (int64_t d : reduced(n)) count *= static_cast<double>(n.input(0).size(d));
  return count;
}

// The layer_norm / rms_norm gradients over the trailing `axes` dims.
Grads norm_grads(const Node &n, const Tensor &g, const std::vector<bool> &needed, bool centered) {
  const Tensor &x = n.input(0);
  const int64_t axes = n.attrs.get_int("axes", 1);
  // The defaults of the kernels (runtime/reference/nn.cpp) and decompositions.
  const double eps = n.attrs.get_double("eps", centered ? 1e-5 : 1e-6);
  std::vector<int64_t> dims, lead;
  for (int64_t d = 0; d < x.dim(); ++d) (d >= x.dim() - axes ? dims : lead).push_back(d);
  const Tensor centered_x = centered ? x - mean(x, dims, true) : x;
  const Tensor rstd = rsqrt(mean(centered_x * centered_x, dims, true) + eps);
  const Tensor xhat = centered_x * rstd;
  const bool has_weight = n.inputs.size() >= 2;
  const Tensor gxhat = has_weight ? g * n.input(1) : g;
  Grads out(n.inputs.size());
  if (needed[0]) {
    Tensor inner = gxhat - xhat * mean(gxhat * xhat, dims, true);
    if (centered) inner = inner - mean(gxhat, dims, true);
    out[0] = rstd * inner;
  }
  auto over_lead = [&](const Tensor &t) { return lead.empty() ? t : sum(t, lead); };
  if (has_weight && needed[1]) out[1] = over_lead(g * xhat);
  if (n.inputs.size() == 3 && needed[2]) out[2] = over_lead(g);
  return out;
}

Grads cross_entropy_grads(const Node &n, const Tensor &g) {
  const Tensor &logits = n.input(0), &target = n.input(1);
  const int64_t ignore = n.attrs.get_int("ignore_index", -100);
  const std::string reduction = n.attrs.get_string("reduction", "mean");
  const int64_t classes = logits.sizes().back();
  const Tensor counted = target != ignore;
  const Tensor safe = where(counted, target, 0);
  const Tensor weight = counted.to(logits.dtype());
  Tensor per_row = reduction == "none" ? g * weight : broadcast_to(g, weight.sizes()) * weight;
  if (reduction == "mean") per_row = per_row / sum(weight);
  const Tensor onehot = one_hot(safe, classes).to(logits.dtype());
  return {(softmax(logits, -1) - onehot) * unsqueeze(per_row, -1), Tensor()};
}

Tensor embedding_grad(const Node &n, const Tensor &g) {
  const Tensor &weight = n.input(0), &indices = n.input(1);
  const int64_t rows = weight.size(0), width = weight.size(1);
  // Sizes spelled out: with a width of 0, -1 could not be inferred.
  const int64_t picked = indices.numel();
  const Tensor picks = one_hot(reshape(indices, {picked}), rows).to(weight.dtype());
  return matmul(transpose(picks, 0, 1), reshape(g, {picked, width}));
}

}  // namespace

SavedParts saved_parts(OpKind op) {
  switch (op) {
    // Formulas that read only the inputs' shapes and dtypes, and perhaps the output.
    case OpKind::Exp:
    case OpKind::Expm1:
    case OpKind::Sqrt:
    case OpKind::Rsqrt:
    case OpKind::Tanh:
    case OpKind::Sigmoid:
    case OpKind::Reciprocal:
    case OpKind::Softmax:
    case OpKind::LogSoftmax: return {.inputs = false, .output = true};
    case OpKind::Neg:
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round:
    case OpKind::Sign:
    case OpKind::Convert:
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Sum:
    case OpKind::Mean:
    case OpKind::Reshape:
    case OpKind::Permute:
    case OpKind::Broadcast:
    case OpKind::Slice:
    case OpKind::Cat:
    case OpKind::Dropout: return {.inputs = false, .output = false};
    // Formulas that read the inputs' values and the output's.
    case OpKind::Div:
    case OpKind::Pow:
    case OpKind::Max:
    case OpKind::Min:
    case OpKind::Prod:
    case OpKind::Std:
    case OpKind::Logsumexp: return {.inputs = true, .output = true};
    // The inputs' values only (sources and non-differentiable ops record no node).
    case OpKind::Full:
    case OpKind::Arange:
    case OpKind::Linspace:
    case OpKind::Eye:
    case OpKind::Rand:
    case OpKind::Randn:
    case OpKind::Randint:
    case OpKind::Abs:
    case OpKind::Log:
    case OpKind::Log1p:
    case OpKind::Sin:
    case OpKind::Cos:
    case OpKind::Relu:
    case OpKind::Gelu:
    case OpKind::Silu:
    case OpKind::Erf:
    case OpKind::LogicalNot:
    case OpKind::Clamp:
    case OpKind::Mul:
    case OpKind::Maximum:
    case OpKind::Minimum:
    case OpKind::Fmod:
    case OpKind::Eq:
    case OpKind::Ne:
    case OpKind::Lt:
    case OpKind::Le:
    case OpKind::Gt:
    case OpKind::Ge:
    case OpKind::LogicalAnd:
    case OpKind::LogicalOr:
    case OpKind::Where:
    case OpKind::Argmax:
    case OpKind::Argmin:
    case OpKind::Var:
    case OpKind::All:
    case OpKind::Any:
    case OpKind::Matmul:
    case OpKind::LayerNorm:
    case OpKind::RmsNorm:
    case OpKind::MseLoss:
    case OpKind::CrossEntropy:
    case OpKind::Embedding:
    case OpKind::OneHot: return {.inputs = true, .output = false};
  }
  KILN_UNREACHABLE("op number {} has no saved parts", static_cast<int>(op));
}

bool differentiable(OpKind op) {
  switch (op) {
    // Sources, and ops with bool or integer results.
    case OpKind::Full:
    case OpKind::Arange:
    case OpKind::Linspace:
    case OpKind::Eye:
    case OpKind::Rand:
    case OpKind::Randn:
    case OpKind::Randint:
    case OpKind::Eq:
    case OpKind::Ne:
    case OpKind::Lt:
    case OpKind::Le:
    case OpKind::Gt:
    case OpKind::Ge:
    case OpKind::LogicalAnd:
    case OpKind::LogicalOr:
    case OpKind::Argmax:
    case OpKind::Argmin:
    case OpKind::All:
    case OpKind::Any:
    case OpKind::OneHot:
    case OpKind::LogicalNot: return false;
    case OpKind::Neg:
    case OpKind::Abs:
    case OpKind::Exp:
    case OpKind::Log:
    case OpKind::Log1p:
    case OpKind::Expm1:
    case OpKind::Sqrt:
    case OpKind::Rsqrt:
    case OpKind::Sin:
    case OpKind::Cos:
    case OpKind::Tanh:
    case OpKind::Sigmoid:
    case OpKind::Relu:
    case OpKind::Gelu:
    case OpKind::Silu:
    case OpKind::Erf:
    case OpKind::Reciprocal:
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round:
    case OpKind::Sign:
    case OpKind::Convert:
    case OpKind::Clamp:
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Div:
    case OpKind::Pow:
    case OpKind::Maximum:
    case OpKind::Minimum:
    case OpKind::Fmod:
    case OpKind::Where:
    case OpKind::Sum:
    case OpKind::Mean:
    case OpKind::Max:
    case OpKind::Min:
    case OpKind::Prod:
    case OpKind::Var:
    case OpKind::Std:
    case OpKind::Logsumexp:
    case OpKind::Matmul:
    case OpKind::Reshape:
    case OpKind::Permute:
    case OpKind::Broadcast:
    case OpKind::Slice:
    case OpKind::Cat:
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
    case OpKind::LayerNorm:
    case OpKind::RmsNorm:
    case OpKind::Dropout:
    case OpKind::MseLoss:
    case OpKind::CrossEntropy:
    case OpKind::Embedding: return true;
  }
  KILN_UNREACHABLE("op number {} is not in the op table", static_cast<int>(op));
}

Grads derivative(const Node &n, const Tensor &g, const std::vector<bool> &needed) {
  const Tensor &x = n.input(0);
  const Tensor &y = n.result();
  auto second = [&]() -> const Tensor & { return n.input(1); };
  switch (n.op) {
    case OpKind::Full:
    case OpKind::Arange:
    case OpKind::Linspace:
    case OpKind::Eye:
    case OpKind::Rand:
    case OpKind::Randn:
    case OpKind::Randint: return {};

    case OpKind::Neg: return {-g};
    case OpKind::Abs: return {g * sign(x)};
    case OpKind::Exp: return {g * y};
    case OpKind::Log: return {g / x};
    case OpKind::Log1p: return {g / (x + 1)};
    case OpKind::Expm1: return {g * (y + 1)};
    case OpKind::Sqrt: return {g / (y * 2)};
    case OpKind::Rsqrt: return {g * (y * y * y) * -0.5};
    case OpKind::Sin: return {g * cos(x)};
    case OpKind::Cos: return {-(g * sin(x))};
    case OpKind::Tanh: return {g * (1 - y * y)};
    case OpKind::Sigmoid: return {g * y * (1 - y)};
    case OpKind::Relu: return {where(x > 0, g, 0)};
    case OpKind::Gelu: {
      if (n.attrs.get_bool("approximate")) {
        constexpr double k = 0.7978845608028654;  // sqrt(2 / pi)
        const Tensor x2 = x * x;
        const Tensor t = tanh((x + x2 * x * 0.044715) * k);
        return {g * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * (x2 * (3 * 0.044715) + 1) * k)};
      }
      const Tensor cdf = (erf(x * std::numbers::sqrt2 / 2) + 1) * 0.5;
      const Tensor pdf = exp(x * x * -0.5) * (std::numbers::inv_sqrtpi / std::numbers::sqrt2);
      return {g * (cdf + x * pdf)};
    }
    case OpKind::Silu: {
      const Tensor s = sigmoid(x);
      return {g * s * (x * (1 - s) + 1)};
    }
    case OpKind::Erf: return {g * exp(-(x * x)) * (2 * std::numbers::inv_sqrtpi)};
    case OpKind::Reciprocal: return {-(g * y * y)};
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round:
    case OpKind::Sign: return {zeros_like(x)};
    case OpKind::LogicalNot: return {};
    case OpKind::Convert: return {is_floating(x.dtype()) ? as_dtype_of(g, x) : Tensor()};
    case OpKind::Clamp: {
      Tensor inside = ones_like(x).to(DType::Bool);
      if (n.attrs.has("min")) inside = inside & (x >= n.attrs.get_double("min"));
      if (n.attrs.has("max")) inside = inside & (x <= n.attrs.get_double("max"));
      return {where(inside, g, 0)};
    }

    case OpKind::Add: return {g, g};
    case OpKind::Sub: return {g, -g};
    case OpKind::Mul: return {needed[0] ? g * second() : Tensor(), needed[1] ? g * x : Tensor()};
    case OpKind::Div:
      return {needed[0] ? g / second() : Tensor(), needed[1] ? -(g * y / second()) : Tensor()};
    case OpKind::Pow: {
      const Tensor &b = second();
      Grads out(2);
      // As PyTorch: b == 0 gives a zero gradient for a (not 0 * a^-1 = nan at a = 0), and
      // a == 0 with b >= 0 a zero gradient for b (not 0 * log 0).
      if (needed[0]) out[0] = where(b == 0, 0, g * b * pow(x, b - 1));
      if (needed[1]) out[1] = where((x == 0) & (b >= 0), 0, g * y * log(x));
      return out;
    }
    case OpKind::Maximum:
    case OpKind::Minimum: {
      const Tensor &b = second();
      const Tensor a_wins = n.op == OpKind::Maximum ? x > b : x < b;
      const Tensor tie = x == b, half = g * 0.5;
      return {where(a_wins, g, where(tie, half, 0)), where(a_wins | tie, where(tie, half, 0), g)};
    }
    case OpKind::Fmod: {
      const Tensor q = x / second();
      const Tensor truncated = where(q < 0, ceil(q), floor(q));
      return {g, needed[1] ? -(g * truncated) : Tensor()};
    }
    case OpKind::Eq:
    case OpKind::Ne:
    case OpKind::Lt:
    case OpKind::Le:
    case OpKind::Gt:
    case OpKind::Ge:
    case OpKind::LogicalAnd:
    case OpKind::LogicalOr: return {};
    case OpKind::Where: return {Tensor(), where(x, g, 0), where(x, 0, g)};

    case OpKind::Sum: return {unreduce(g, x.sizes(), reduced(n), n.attrs.get_bool("keepdim"))};
    case OpKind::Mean:
      return {unreduce(g, x.sizes(), reduced(n), n.attrs.get_bool("keepdim")) / reduced_count(n)};
    case OpKind::Max:
    case OpKind::Min: {
      const std::vector<int64_t> dims = reduced(n);
      const bool keep = n.attrs.get_bool("keepdim");
      const Tensor hit = (x == unreduce(y, x.sizes(), dims, keep)).to(x.dtype());
      const Tensor share =
          unreduce(g, x.sizes(), dims, keep) / broadcast_to(sum(hit, dims, true), x.sizes());
      return {hit * share};
    }
    case OpKind::Prod: {
      // y / x, except at zeros: a lone zero gets the product of the others; two or more
      // zeros make every gradient zero.
      const std::vector<int64_t> dims = reduced(n);
      const bool keep = n.attrs.get_bool("keepdim");
      const Tensor zero = x == 0;
      const Tensor others = prod(where(zero, 1, x), dims, true);
      const Tensor zeros_seen = sum(zero.to(x.dtype()), dims, true);
      const Tensor at_zero = broadcast_to(where(zeros_seen == 1, others, 0), x.sizes());
      const Tensor elsewhere = unreduce(y, x.sizes(), dims, keep) / where(zero, 1, x);
      return {unreduce(g, x.sizes(), dims, keep) * where(zero, at_zero, elsewhere)};
    }
    case OpKind::Argmax:
    case OpKind::Argmin:
    case OpKind::All:
    case OpKind::Any: return {};
    case OpKind::Var:
    case OpKind::Std: {
      const std::vector<int64_t> dims = reduced(n);
      const bool keep = n.attrs.get_bool("keepdim");
      const double divisor =
          reduced_count(n) - static_cast<double>(n.attrs.get_int("correction", 1));
      const Tensor centered = x - mean(x, dims, true);
      const Tensor ge = unreduce(g, x.sizes(), dims, keep);
      if (n.op == OpKind::Var) return {ge * centered * (2 / divisor)};
      // Where the std is 0 every element equals the mean: 0 rather than 0 / 0, as PyTorch.
      const Tensor std_x = unreduce(y, x.sizes(), dims, keep);
      return {where(std_x == 0, 0, ge * centered / (std_x * divisor))};
    }
    case OpKind::Logsumexp: {
      const std::vector<int64_t> dims = reduced(n);
      const bool keep = n.attrs.get_bool("keepdim");
      return {unreduce(g, x.sizes(), dims, keep) * exp(x - unreduce(y, x.sizes(), dims, keep))};
    }

    case OpKind::Matmul: {
      // An operand that is a transposed tensor (linear's weight.t()) gets its gradient
      // computed transposed, so the transpose's own gradient hands the weight a gradient in
      // the weight's layout, not a strided view the optimizer would read across rows (as
      // PyTorch's mm backward follows mat2's strides).
      const Tensor &b = second();
      Grads out(2);
      if (needed[0])
        out[0] = transposed_operand(n, 0) ? transpose(matmul(b, transpose(g, -1, -2)), -1, -2)
                                          : matmul(g, transpose(b, -1, -2));
      if (needed[1])
        out[1] = transposed_operand(n, 1) ? transpose(matmul(transpose(g, -1, -2), x), -1, -2)
                                          : matmul(transpose(x, -1, -2), g);
      return out;
    }

    case OpKind::Reshape: return {reshape(g, x.sizes())};
    case OpKind::Permute: {
      const std::vector<int64_t> perm = n.attrs.get_ints("perm");
      std::vector<int64_t> inverse(perm.size());
      for (size_t i = 0; i < perm.size(); ++i)
        inverse[static_cast<size_t>(normalize_dim("permute", perm[i], x.dim()))] =
            static_cast<int64_t>(i);
      return {permute(g, inverse)};
    }
    case OpKind::Broadcast: return {sum_to(g, x.sizes())};
    case OpKind::Slice: return {unslice(g, x.sizes(), n.attrs)};
    case OpKind::Cat: {
      const int64_t dim = normalize_dim("cat", n.attrs.get_int("dim"), x.dim());
      Grads out(n.inputs.size());
      int64_t at = 0;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const int64_t size = n.input(i).size(dim);
        if (needed[i]) out[i] = narrow(g, dim, at, size);
        at += size;
      }
      return out;
    }

    case OpKind::Softmax: {
      const int64_t dim = n.attrs.get_int("dim", -1);
      return {y * (g - sum(g * y, dim, true))};
    }
    case OpKind::LogSoftmax: {
      const int64_t dim = n.attrs.get_int("dim", -1);
      return {g - exp(y) * sum(g, dim, true)};
    }
    case OpKind::LayerNorm: return norm_grads(n, g, needed, /*centered=*/true);
    case OpKind::RmsNorm: return norm_grads(n, g, needed, /*centered=*/false);
    case OpKind::Dropout:
      // The same seed and offset draw the same mask: dropout of g is g * mask / (1 - p).
      return {dispatch(OpKind::Dropout, {g}, n.attrs)};
    case OpKind::MseLoss: {
      const std::string reduction = n.attrs.get_string("reduction", "mean");
      Tensor scale = reduction == "none" ? g * 2 : broadcast_to(g * 2, x.sizes());
      if (reduction == "mean") scale = scale / static_cast<double>(x.numel());
      const Tensor ga = scale * (x - second());
      return {ga, needed[1] ? -ga : Tensor()};
    }
    case OpKind::CrossEntropy: return cross_entropy_grads(n, g);
    case OpKind::Embedding: return {embedding_grad(n, g), Tensor()};
    case OpKind::OneHot: return {};
  }
  KILN_UNREACHABLE("op number {} has no gradient rule", static_cast<int>(n.op));
}

}  // namespace kiln::autograd
