// The gradient cases: for every differentiable op of ir/ops.def, functions of f64 inputs
// whose gradients autograd_test.cpp checks against central finite differences (eager) and
// against compile() (compiled == eager). Inputs stay away from kinks (relu at 0, ties of
// max, the jumps of floor), where a finite difference has no single answer.
#include "grad_cases.h"

namespace kiln::test {
namespace {

using Args = const std::vector<Tensor> &;

// Deterministic f64 values in [lo, hi).
Tensor values(const Shape &shape, uint64_t seed, double lo = -2, double hi = 2) {
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
  for (double &x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = lo + (hi - lo) * static_cast<double>(s >> 11) / 9007199254740992.0;
  }
  return make(v, shape, DType::F64);
}

// Values whose magnitude is at least `gap` (away from kinks at 0), with mixed signs.
Tensor away_from_zero(const Shape &shape, uint64_t seed, double gap = 0.2) {
  Tensor v = values(shape, seed, -1, 1);
  return where(v < 0, v - gap, v + gap);
}

// Distinct values (no ties for max, min, maximum): a shuffled ramp, 0.37 apart.
Tensor distinct(const Shape &shape, uint64_t seed) {
  const int64_t n = numel(shape);
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>((i * 7 + seed) % n)] = 0.37 * (i - n / 2);
  return make(v, shape, DType::F64);
}

GradCase unary(OpKind op, std::string name, std::function<Tensor(const Tensor &)> fn, Tensor x) {
  return {op, std::move(name), [fn](Args a) { return fn(a[0]); }, {std::move(x)}};
}

GradCase binary(OpKind op, std::string name,
                std::function<Tensor(const Tensor &, const Tensor &)> fn, Tensor a, Tensor b) {
  return {
      op, std::move(name), [fn](Args x) { return fn(x[0], x[1]); }, {std::move(a), std::move(b)}};
}

}  // namespace

std::vector<GradCase> grad_cases() {
  std::vector<GradCase> c;
  const Shape s{2, 3};
  auto f = [](Tensor (*op)(const Tensor &)) { return [op](const Tensor &x) { return op(x); }; };

  // Elementwise, one operand.
  c.push_back(unary(OpKind::Neg, "neg", f(neg), values(s, 1)));
  c.push_back(unary(OpKind::Abs, "abs", f(abs), away_from_zero(s, 2)));
  c.push_back(unary(OpKind::Exp, "exp", f(exp), values(s, 3)));
  c.push_back(unary(OpKind::Log, "log", f(log), values(s, 4, 0.3, 3)));
  c.push_back(unary(OpKind::Log1p, "log1p", f(log1p), values(s, 5, -0.5, 2)));
  c.push_back(unary(OpKind::Expm1, "expm1", f(expm1), values(s, 6)));
  c.push_back(unary(OpKind::Sqrt, "sqrt", f(sqrt), values(s, 7, 0.3, 3)));
  c.push_back(unary(OpKind::Rsqrt, "rsqrt", f(rsqrt), values(s, 8, 0.3, 3)));
  c.push_back(unary(OpKind::Sin, "sin", f(sin), values(s, 9)));
  c.push_back(unary(OpKind::Cos, "cos", f(cos), values(s, 10)));
  c.push_back(unary(OpKind::Tanh, "tanh", f(tanh), values(s, 11)));
  c.push_back(unary(OpKind::Sigmoid, "sigmoid", f(sigmoid), values(s, 12)));
  c.push_back(unary(OpKind::Relu, "relu", f(relu), away_from_zero(s, 13)));
  c.push_back(unary(
      OpKind::Gelu, "gelu exact", [](const Tensor &x) { return gelu(x); }, values(s, 14, -3, 3)));
  c.push_back(unary(
      OpKind::Gelu, "gelu tanh", [](const Tensor &x) { return gelu(x, "tanh"); },
      values(s, 15, -3, 3)));
  c.push_back(unary(OpKind::Silu, "silu", f(silu), values(s, 16, -3, 3)));
  c.push_back(unary(OpKind::Erf, "erf", f(erf), values(s, 17)));
  c.push_back(unary(OpKind::Reciprocal, "reciprocal", f(reciprocal), away_from_zero(s, 18, 0.5)));
  const Tensor off_integers = floor(values(s, 19, -3, 3)) + 0.3;
  c.push_back(unary(OpKind::Floor, "floor (zero gradient)", f(floor), off_integers));
  c.push_back(unary(OpKind::Ceil, "ceil (zero gradient)", f(ceil), off_integers));
  c.push_back(unary(OpKind::Round, "round (zero gradient)", f(round), off_integers));
  c.push_back(unary(OpKind::Sign, "sign (zero gradient)", f(sign), away_from_zero(s, 20)));
  c.push_back(unary(
      OpKind::Convert, "contiguous of a transposed view",
      [](const Tensor &x) { return x.transpose(0, 1).contiguous() * x.transpose(0, 1); },
      values(s, 21)));
  c.push_back(unary(
      OpKind::Clamp, "clamp min and max", [](const Tensor &x) { return clamp(x, -0.5, 0.5); },
      make({-1.2, -0.3, 0.1, 0.45, 0.8, -0.7}, s, DType::F64)));
  c.push_back(unary(
      OpKind::Clamp, "clamp min only", [](const Tensor &x) { return clamp(x, 0.0); },
      away_from_zero(s, 23)));

  // Elementwise, two or three operands (broadcast ones go through the broadcast op too).
  c.push_back(binary(
      OpKind::Add, "add", [](auto &a, auto &b) { return a + b; }, values(s, 30), values(s, 31)));
  c.push_back(binary(
      OpKind::Sub, "sub, b broadcast over rows", [](auto &a, auto &b) { return a - b; },
      values(s, 32), values({3}, 33)));
  c.push_back(binary(
      OpKind::Mul, "mul, a broadcast over columns", [](auto &a, auto &b) { return a * b; },
      values({2, 1}, 34), values(s, 35)));
  c.push_back(binary(
      OpKind::Div, "div", [](auto &a, auto &b) { return a / b; }, values(s, 36),
      away_from_zero(s, 37, 0.5)));
  c.push_back(binary(
      OpKind::Pow, "pow, positive base", [](auto &a, auto &b) { return pow(a, b); },
      values(s, 38, 0.5, 2), values(s, 39)));
  c.push_back(unary(
      OpKind::Pow, "pow by a scalar exponent", [](const Tensor &x) { return pow(x, 3); },
      values(s, 40)));
  c.push_back(binary(
      OpKind::Maximum, "maximum", [](auto &a, auto &b) { return maximum(a, b); }, distinct(s, 1),
      distinct(s, 2) + 0.1));
  c.push_back(binary(
      OpKind::Minimum, "minimum", [](auto &a, auto &b) { return minimum(a, b); }, distinct(s, 3),
      distinct(s, 4) + 0.1));
  c.push_back(binary(
      OpKind::Fmod, "fmod", [](auto &a, auto &b) { return fmod(a, b); },
      make({5.3, -5.3, 2.2, 7.9, -1.1, 3.4}, s, DType::F64),
      make({2.0, 2.0, -1.5, 3.0, 0.7, -2.5}, s, DType::F64)));
  c.push_back({OpKind::Where,
               "where",
               [](Args a) { return where(a[0] > 0, a[0] * 2, a[1]); },
               {away_from_zero(s, 41), values(s, 42)}});

  // Reductions.
  const Shape r{2, 3, 4};
  c.push_back(
      unary(OpKind::Sum, "sum over all", [](const Tensor &x) { return sum(x); }, values(r, 50)));
  c.push_back(unary(
      OpKind::Sum, "sum over dims 0 and 2", [](const Tensor &x) { return sum(x, {0, 2}); },
      values(r, 51)));
  c.push_back(unary(
      OpKind::Mean, "mean over dim -1, keepdim", [](const Tensor &x) { return mean(x, -1, true); },
      values(r, 52)));
  c.push_back(unary(
      OpKind::Max, "max over dim 1", [](const Tensor &x) { return max(x, 1); }, distinct(r, 5)));
  c.push_back(unary(
      OpKind::Max, "max over all, tie shared",
      [](const Tensor &x) { return max(maximum(x, 0.5)) * 1.0; },
      make({0.1, 0.9, 0.9, -2, 0.3, 0.2}, s, DType::F64)));
  c.push_back(unary(
      OpKind::Min, "min over dim 2, keepdim", [](const Tensor &x) { return min(x, 2, true); },
      distinct(r, 6)));
  c.push_back(unary(
      OpKind::Prod, "prod over dim 1", [](const Tensor &x) { return prod(x, 1); },
      values(r, 53, 0.5, 1.5)));
  c.push_back(unary(
      OpKind::Prod, "prod with a zero and with two zeros",
      [](const Tensor &x) { return prod(x, 1); }, make({0, 2, 3, 0, 0, 4}, s, DType::F64)));
  c.push_back(unary(
      OpKind::Var, "var over dim 1 (unbiased)", [](const Tensor &x) { return var(x, 1); },
      values(r, 54)));
  c.push_back(unary(
      OpKind::Var, "var over all (biased)", [](const Tensor &x) { return var(x, {}, false); },
      values(r, 55)));
  c.push_back(unary(
      OpKind::Std, "std over dims 0 and 2, keepdim",
      [](const Tensor &x) { return kiln::std(x, {0, 2}, true, true); }, values(r, 56)));
  c.push_back(unary(
      OpKind::Logsumexp, "logsumexp over dim -1", [](const Tensor &x) { return logsumexp(x, -1); },
      values(r, 57)));

  // Contraction.
  c.push_back(binary(
      OpKind::Matmul, "matmul 2-D", [](auto &a, auto &b) { return matmul(a, b); },
      values({3, 4}, 60), values({4, 2}, 61)));
  c.push_back(binary(
      OpKind::Matmul, "matmul batched, b broadcast", [](auto &a, auto &b) { return matmul(a, b); },
      values({2, 3, 4}, 62), values({4, 2}, 63)));
  c.push_back(binary(
      OpKind::Matmul, "matmul matrix by vector", [](auto &a, auto &b) { return matmul(a, b); },
      values({3, 4}, 64), values({4}, 65)));
  c.push_back(binary(
      OpKind::Matmul, "linear with bias, transposed input",
      [](auto &x, auto &w) { return linear(x.transpose(0, 1), w, w.select(1, 0)); },
      values({4, 3}, 66), values({4, 4}, 67)));

  // Movement.
  c.push_back(unary(
      OpKind::Reshape, "reshape and flatten",
      [](const Tensor &x) { return x.reshape({4, 6}).flatten() * 2; }, values(r, 70)));
  c.push_back(unary(
      OpKind::Permute, "permute",
      [](const Tensor &x) { return x.permute({2, 0, 1}) * values({4, 2, 3}, 99); }, values(r, 71)));
  c.push_back(unary(
      OpKind::Broadcast, "expand and unsqueeze",
      [](const Tensor &x) { return x.unsqueeze(1).expand({2, 5, 3}) * 1.5; }, values(s, 72)));
  c.push_back(unary(
      OpKind::Slice, "slice, narrow and select",
      [](const Tensor &x) {
        return x.slice(1, 1, 3) * 2 + sum(x.narrow(2, 1, 2) * x.narrow(2, 1, 2)) +
               sum(x.select(0, 1) * 3);
      },
      values(r, 73)));
  c.push_back(unary(
      OpKind::Slice, "slice with step 2 and 3",
      [](const Tensor &x) {
        return x.slice(2, 0, 4, 2) * x.slice(2, 0, 4, 2) + sum(x.slice(2, 1, 4, 3)) * 3;
      },
      values(r, 74)));
  c.push_back(binary(
      OpKind::Cat, "cat and stack",
      [](auto &a, auto &b) { return cat({a, b, a}, 1).reshape({2, 3, 4}) * stack({b, a, a}, 1); },
      values({2, 4}, 75), values({2, 4}, 76)));
  c.push_back(unary(
      OpKind::Cat, "split and chunk",
      [](const Tensor &x) {
        auto parts = split(x, 2, 1);
        return parts[0] * 3 + parts[1];
      },
      values({2, 4}, 77)));

  // Composite nn functions.
  c.push_back(unary(
      OpKind::Softmax, "softmax over dim 1",
      [](const Tensor &x) { return softmax(x, 1) * values({2, 3, 4}, 98); }, values(r, 80)));
  c.push_back(unary(
      OpKind::LogSoftmax, "log_softmax over dim -1",
      [](const Tensor &x) { return log_softmax(x, -1); }, values(r, 81)));
  c.push_back({OpKind::LayerNorm,
               "layer_norm with weight and bias over 2 dims",
               [](Args a) { return layer_norm(a[0], {3, 4}, a[1], a[2]); },
               {values(r, 82), values({3, 4}, 83), values({3, 4}, 84)}});
  c.push_back(unary(
      OpKind::LayerNorm, "layer_norm without affine",
      [](const Tensor &x) { return layer_norm(x, {4}) * values({2, 3, 4}, 97); }, values(r, 85)));
  c.push_back({OpKind::RmsNorm,
               "rms_norm with weight",
               [](Args a) { return rms_norm(a[0], {4}, a[1], 1e-6); },
               {values(r, 86), values({4}, 87)}});
  c.push_back(unary(
      OpKind::RmsNorm, "rms_norm without weight",
      [](const Tensor &x) { return rms_norm(x, {3, 4}) * values({2, 3, 4}, 96); }, values(r, 88)));
  c.push_back(unary(
      OpKind::Dropout, "dropout p=0.4 (the same seed each evaluation)",
      [](const Tensor &x) { return dropout(x, 0.4); }, values(r, 89)));
  c.push_back(binary(
      OpKind::MseLoss, "mse_loss mean", [](auto &a, auto &b) { return mse_loss(a, b); },
      values(s, 90), values(s, 91)));
  c.push_back(binary(
      OpKind::MseLoss, "mse_loss sum and none",
      [](auto &a, auto &b) { return mse_loss(a, b, "sum") + mse_loss(a, b, "none"); },
      values(s, 92), values(s, 93)));
  const Tensor labels = make({2, 0, 3}, {3}, DType::I64);
  c.push_back(unary(
      OpKind::CrossEntropy, "cross_entropy mean",
      [labels](const Tensor &x) { return cross_entropy(x, labels); }, values({3, 4}, 94)));
  c.push_back(unary(
      OpKind::CrossEntropy, "cross_entropy none, an ignored row",
      [](const Tensor &x) {
        return cross_entropy(x, make({1, -100, 3}, {3}, DType::I64), "none") *
               make({0.5, 2, -1}, {3}, DType::F64);
      },
      values({3, 4}, 95)));
  c.push_back(unary(
      OpKind::CrossEntropy, "cross_entropy sum, label smoothing, [N, C, d]",
      [](const Tensor &x) {
        return cross_entropy(x, make({1, 0, 3, 2}, {2, 2}, DType::I64), "sum", -100, 0.2);
      },
      values({2, 4, 2}, 100)));
  c.push_back(unary(
      OpKind::CrossEntropy, "cross_entropy of one row [C]",
      [](const Tensor &x) { return cross_entropy(x, scalar_tensor(int64_t{2})); },
      values({5}, 101)));
  c.push_back(unary(
      OpKind::Embedding, "embedding with a repeated index",
      [](const Tensor &w) {
        return embedding(make({1, 3, 1, 0}, {2, 2}, DType::I64), w) * values({2, 2, 3}, 95);
      },
      values({4, 3}, 102)));
  return c;
}

}  // namespace kiln::test
