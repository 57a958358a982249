// Value and error cases for the composite nn ops (softmax, log_softmax, layer_norm, rms_norm,
// dropout, mse_loss, cross_entropy, embedding, one_hot) against double-precision loops or
// hand-computed numbers; dropout's statistics are plain tests at the end.
#include <cmath>
#include <limits>

#include "op_cases.h"

namespace kiln::test {
namespace {

using Args = const std::vector<Tensor> &;
using Row = std::vector<double>;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Deterministic values in [-scale, scale).
Tensor filled(const Shape &shape, DType dtype, uint64_t seed, double scale = 3) {
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (double &x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = scale * (2 * static_cast<double>(s >> 11) / 9007199254740992.0 - 1);
  }
  return make(v, shape, dtype);
}

// Applies fn to every 1-D line of x along dim; fn returns the line's new values.
Tensor along(const Tensor &x, int64_t dim, const std::function<Row(const Row &)> &fn) {
  const int64_t rank = x.dim(), d = dim < 0 ? dim + rank : dim;
  int64_t inner = 1;
  for (int64_t i = d + 1; i < rank; ++i) inner *= x.size(i);
  const int64_t n = x.size(d), outer = x.numel() / std::max<int64_t>(n * inner, 1);
  std::vector<double> v = x.tolist<double>(), out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      Row line;
      for (int64_t k = 0; k < n; ++k) line.push_back(v[(o * n + k) * inner + i]);
      Row r = fn(line);
      for (int64_t k = 0; k < n; ++k) out[(o * n + k) * inner + i] = r[k];
    }
  return make(out, x.sizes(), x.dtype());
}

Row ref_log_softmax(const Row &x) {
  double m = -kInf;
  for (double e : x) m = std::max(m, e);
  if (std::isinf(m) && m < 0) return Row(x.size(), kNaN);
  double s = 0;
  for (double e : x) s += std::exp(e - m);
  Row out;
  for (double e : x) out.push_back(e - m - std::log(s));
  return out;
}

Row ref_softmax(const Row &x) {
  Row out = ref_log_softmax(x);
  for (double &e : out) e = std::exp(e);
  return out;
}

// layer_norm (rms=false) or rms_norm over trailing rows of n elements, optional weight/bias.
Tensor ref_norm(const Tensor &x, int64_t n, const std::vector<double> &w,
                const std::vector<double> &b, double eps, bool rms) {
  std::vector<double> v = x.tolist<double>();
  for (size_t r = 0; r < v.size() / static_cast<size_t>(n); ++r) {
    double *row = v.data() + r * static_cast<size_t>(n);
    double mean = 0, var = 0;
    if (!rms) {
      for (int64_t i = 0; i < n; ++i) mean += row[i];
      mean /= static_cast<double>(n);
    }
    for (int64_t i = 0; i < n; ++i) var += (row[i] - mean) * (row[i] - mean);
    const double rstd = 1 / std::sqrt(var / static_cast<double>(n) + eps);
    for (int64_t i = 0; i < n; ++i) {
      row[i] = (row[i] - mean) * rstd;
      if (!w.empty()) row[i] *= w[static_cast<size_t>(i)];
      if (!b.empty()) row[i] += b[static_cast<size_t>(i)];
    }
  }
  return make(v, x.sizes(), x.dtype());
}

Tolerance tol_of(DType dtype) {
  return dtype == DType::F64 ? Tolerance{1e-12, 1e-12} : Tolerance{1e-6, 1e-5};
}

OpCase ncase(OpKind op, std::string name, std::function<Tensor(Args)> fn,
             std::vector<Tensor> inputs, Tensor want, Tolerance tol = {}) {
  return {op, std::move(name), std::move(fn), std::move(inputs), std::move(want), tol};
}

}  // namespace

std::vector<OpCase> nn_cases() {
  using DT = DType;
  std::vector<OpCase> cases;

  // Softmax and log_softmax: last dim (row path), middle and first dims (column path).
  for (DType dt : {DT::F32, DT::F64}) {
    const std::string t = " " + std::string(dtype_name(dt));
    const Tolerance tol = tol_of(dt);
    Tensor x3 = filled({2, 3, 20}, dt, 1), x = filled({4, 7}, dt, 2);
    for (int64_t dim : {-1, 1, 0}) {
      const std::string d = " over dim " + std::to_string(dim);
      cases.push_back(ncase(
          OpKind::Softmax, "softmax [2,3,20]" + d + t,
          [dim](Args in) { return softmax(in[0], dim); }, {x3}, along(x3, dim, ref_softmax), tol));
      cases.push_back(ncase(
          OpKind::LogSoftmax, "log_softmax [2,3,20]" + d + t,
          [dim](Args in) { return log_softmax(in[0], dim); }, {x3}, along(x3, dim, ref_log_softmax),
          tol));
    }
    cases.push_back(ncase(
        OpKind::Softmax, "softmax of a transposed input" + t,
        [](Args in) { return softmax(in[0], -1); }, {x.transpose(0, 1)},
        along(x.transpose(0, 1), -1, ref_softmax), tol));
    cases.push_back(ncase(
        OpKind::LogSoftmax, "log_softmax of a transposed input over dim 0" + t,
        [](Args in) { return log_softmax(in[0], 0); }, {x.transpose(0, 1)},
        along(x.transpose(0, 1), 0, ref_log_softmax), tol));
    Tensor special =
        make({1000, 1001, 1002, -kInf, 0, -kInf, -kInf, -kInf, -kInf, -1000, 0, 1000}, {4, 3}, dt);
    cases.push_back(ncase(
        OpKind::Softmax, "softmax of large values and -inf entries" + t,
        [](Args in) { return softmax(in[0], 1); }, {special}, along(special, 1, ref_softmax), tol));
    cases.push_back(ncase(
        OpKind::LogSoftmax, "log_softmax of large values and -inf entries" + t,
        [](Args in) { return log_softmax(in[0], 1); }, {special},
        along(special, 1, ref_log_softmax), tol));
    cases.push_back(ncase(
        OpKind::Softmax, "softmax with -inf entries over the column path" + t,
        [](Args in) { return softmax(in[0], 0); }, {special.transpose(0, 1).contiguous()},
        along(special.transpose(0, 1).contiguous(), 0, ref_softmax), tol));
    cases.push_back(ncase(
        OpKind::LogSoftmax, "log_softmax with -inf entries over the column path" + t,
        [](Args in) { return log_softmax(in[0], 0); }, {special.transpose(0, 1).contiguous()},
        along(special.transpose(0, 1).contiguous(), 0, ref_log_softmax), tol));
  }
  cases.push_back(ncase(
      OpKind::Softmax, "softmax by hand", [](Args in) { return softmax(in[0], 0); },
      {make({0, std::log(3.0)}, {2})}, make({0.25, 0.75}, {2}), tol_of(DT::F32)));
  cases.push_back(ncase(
      OpKind::Softmax, "softmax of equal values is uniform",
      [](Args in) { return softmax(in[0], -1); }, {make({1000, 1000, 1000, 1000}, {1, 4})},
      make({0.25, 0.25, 0.25, 0.25}, {1, 4}), tol_of(DT::F32)));
  cases.push_back(ncase(
      OpKind::LogSoftmax, "log_softmax by hand", [](Args in) { return log_softmax(in[0], 0); },
      {make({0, 0}, {2}, DT::F64)}, make({-std::log(2.0), -std::log(2.0)}, {2}, DT::F64),
      tol_of(DT::F64)));
  cases.push_back(ncase(
      OpKind::LogSoftmax, "log_softmax of values near 1e5 keeps f32 precision",
      [](Args in) { return log_softmax(in[0], -1); }, {make({100000, 100001}, {2})},
      along(make({100000, 100001}, {2}), -1, ref_log_softmax), tol_of(DT::F32)));
  cases.push_back(ncase(
      OpKind::Softmax, "softmax of a 0-dim tensor is 1", [](Args in) { return softmax(in[0], 0); },
      {make({5}, {})}, make({1}, {}), tol_of(DT::F32)));

  // layer_norm and rms_norm.
  for (DType dt : {DT::F32, DT::F64}) {
    const std::string t = " " + std::string(dtype_name(dt));
    const Tolerance tol = dt == DT::F64 ? Tolerance{1e-12, 1e-12} : Tolerance{1e-5, 1e-5};
    Tensor x = filled({3, 5, 8}, dt, 3), w = filled({8}, dt, 4), b = filled({8}, dt, 5);
    Tensor w2 = filled({5, 8}, dt, 6), b2 = filled({5, 8}, dt, 7);
    const Row wv = w.tolist<double>(), bv = b.tolist<double>();
    cases.push_back(ncase(
        OpKind::LayerNorm, "layer_norm without weight" + t,
        [](Args in) { return layer_norm(in[0], {8}); }, {x}, ref_norm(x, 8, {}, {}, 1e-5, false),
        tol));
    cases.push_back(ncase(
        OpKind::LayerNorm, "layer_norm with weight" + t,
        [](Args in) { return layer_norm(in[0], {8}, in[1]); }, {x, w},
        ref_norm(x, 8, wv, {}, 1e-5, false), tol));
    cases.push_back(ncase(
        OpKind::LayerNorm, "layer_norm with weight and bias" + t,
        [](Args in) { return layer_norm(in[0], {8}, in[1], in[2]); }, {x, w, b},
        ref_norm(x, 8, wv, bv, 1e-5, false), tol));
    cases.push_back(ncase(
        OpKind::LayerNorm, "layer_norm over 2 trailing dims" + t,
        [](Args in) { return layer_norm(in[0], {5, 8}, in[1], in[2], 1e-3); }, {x, w2, b2},
        ref_norm(x, 40, w2.tolist<double>(), b2.tolist<double>(), 1e-3, false), tol));
    cases.push_back(ncase(
        OpKind::LayerNorm, "layer_norm of a transposed input" + t,
        [](Args in) { return layer_norm(in[0], {3}); }, {x.transpose(0, 2)},
        ref_norm(x.transpose(0, 2), 3, {}, {}, 1e-5, false), tol));
    cases.push_back(ncase(
        OpKind::RmsNorm, "rms_norm with the default eps" + t,
        [](Args in) { return rms_norm(in[0], {8}); }, {x},
        ref_norm(x, 8, {}, {},
                 dt == DT::F32 ? std::numeric_limits<float>::epsilon()
                               : std::numeric_limits<double>::epsilon(),
                 true),
        tol));
    cases.push_back(ncase(
        OpKind::RmsNorm, "rms_norm with weight and eps" + t,
        [](Args in) { return rms_norm(in[0], {8}, in[1], 1e-2); }, {x, w},
        ref_norm(x, 8, wv, {}, 1e-2, true), tol));
    cases.push_back(ncase(
        OpKind::RmsNorm, "rms_norm over 2 trailing dims" + t,
        [](Args in) { return rms_norm(in[0], {5, 8}, in[1]); }, {x, w2},
        ref_norm(x, 40, w2.tolist<double>(), {},
                 dt == DT::F32 ? std::numeric_limits<float>::epsilon()
                               : std::numeric_limits<double>::epsilon(),
                 true),
        tol));
  }
  cases.push_back(ncase(
      OpKind::LayerNorm, "layer_norm by hand",
      [](Args in) { return layer_norm(in[0], {2}, {}, {}, 0); }, {make({1, 3, -2, 2}, {2, 2})},
      make({-1, 1, -1, 1}, {2, 2}), tol_of(DT::F32)));
  cases.push_back(ncase(
      OpKind::LayerNorm, "layer_norm of a constant row is 0 (eps keeps it finite)",
      [](Args in) { return layer_norm(in[0], {3}); }, {make({4, 4, 4}, {3})}, make({0, 0, 0}, {3}),
      tol_of(DT::F32)));
  cases.push_back(ncase(
      OpKind::RmsNorm, "rms_norm by hand", [](Args in) { return rms_norm(in[0], {2}, {}, 0.0); },
      {make({3, 4}, {1, 2})}, make({3 / std::sqrt(12.5), 4 / std::sqrt(12.5)}, {1, 2}),
      tol_of(DT::F32)));

  // Dropout: deterministic corners; the statistics are plain tests below.
  Tensor xd = filled({4, 5}, DT::F32, 8);
  cases.push_back(ncase(
      OpKind::Dropout, "dropout with train=false is the identity",
      [](Args in) { return dropout(in[0], 0.5, false); }, {xd}, xd));
  cases.push_back(ncase(
      OpKind::Dropout, "dropout with p=0 is the identity",
      [](Args in) { return dropout(in[0], 0.0); }, {xd}, xd));
  cases.push_back(ncase(
      OpKind::Dropout, "dropout with p=1 gives zeros", [](Args in) { return dropout(in[0], 1.0); },
      {xd}, make(std::vector<double>(20, 0), {4, 5})));
  cases.push_back(ncase(
      OpKind::Dropout, "dropout f64 with p=1 gives zeros",
      [](Args in) { return dropout(in[0], 1.0); }, {xd.to(DT::F64)},
      make(std::vector<double>(20, 0), {4, 5}, DT::F64)));
  cases.push_back(ncase(
      OpKind::Dropout, "dropout p=0.25 keeps x/0.75 or zeroes each element",
      [](Args in) {
        manual_seed(3);
        Tensor y = dropout(in[0], 0.25);
        return logical_or(eq(y, zeros_like(y)), eq(y, in[0] / 0.75));
      },
      {make(std::vector<double>(1000, 3), {1000})},
      make(std::vector<double>(1000, 1), {1000}, DT::Bool)));

  // mse_loss.
  for (DType dt : {DT::F32, DT::F64}) {
    const std::string t = " " + std::string(dtype_name(dt));
    Tensor a = make({1, 2, 3, 4, 5, 6}, {2, 3}, dt), b = make({1.5, 2, 1, 4, 7, 3}, {2, 3}, dt);
    // squared errors: 0.25 0 4 0 4 9, total 17.25
    cases.push_back(ncase(
        OpKind::MseLoss, "mse_loss mean" + t, [](Args in) { return mse_loss(in[0], in[1]); },
        {a, b}, make({17.25 / 6}, {}, dt), tol_of(dt)));
    cases.push_back(ncase(
        OpKind::MseLoss, "mse_loss sum" + t, [](Args in) { return mse_loss(in[0], in[1], "sum"); },
        {a, b}, make({17.25}, {}, dt), tol_of(dt)));
    cases.push_back(ncase(
        OpKind::MseLoss, "mse_loss none" + t,
        [](Args in) { return mse_loss(in[0], in[1], "none"); }, {a, b},
        make({0.25, 0, 4, 0, 4, 9}, {2, 3}, dt), tol_of(dt)));
  }
  cases.push_back(ncase(
      OpKind::MseLoss, "mse_loss with an i64 target",
      [](Args in) { return mse_loss(in[0], in[1], "sum"); },
      {make({1.5, 2}, {2}), make({1, 4}, {2}, DT::I64)}, make({4.25}, {}), tol_of(DT::F32)));
  cases.push_back(ncase(
      OpKind::MseLoss, "mse_loss of transposed operands",
      [](Args in) { return mse_loss(in[0].transpose(0, 1), in[1], "none"); },
      {make({1, 2, 3, 4}, {2, 2}), make({0, 0, 0, 0}, {2, 2})}, make({1, 9, 4, 16}, {2, 2}),
      tol_of(DT::F32)));
  cases.push_back(ncase(
      OpKind::MseLoss, "mse_loss mean of empty tensors is NaN",
      [](Args in) { return mse_loss(in[0], in[1]); }, {make({}, {0}), make({}, {0})},
      make({kNaN}, {}), tol_of(DT::F32)));

  // cross_entropy: loss_r = logsumexp(logits_r) - logits_r[target_r].
  for (DType dt : {DT::F32, DT::F64}) {
    const std::string t = " " + std::string(dtype_name(dt));
    Tensor logits = filled({3, 4}, dt, 9);
    const Row lv = logits.tolist<double>();
    const std::vector<int64_t> target = {0, 3, 1};
    Row losses;
    for (int64_t r = 0; r < 3; ++r) {
      Row row(lv.begin() + r * 4, lv.begin() + r * 4 + 4);
      losses.push_back(-ref_log_softmax(row)[static_cast<size_t>(target[static_cast<size_t>(r)])]);
    }
    Tensor tgt = from_vector(target);
    const double total = losses[0] + losses[1] + losses[2];
    cases.push_back(ncase(
        OpKind::CrossEntropy, "cross_entropy mean" + t,
        [](Args in) { return cross_entropy(in[0], in[1]); }, {logits, tgt},
        make({total / 3}, {}, dt), tol_of(dt)));
    cases.push_back(ncase(
        OpKind::CrossEntropy, "cross_entropy sum" + t,
        [](Args in) { return cross_entropy(in[0], in[1], "sum"); }, {logits, tgt},
        make({total}, {}, dt), tol_of(dt)));
    cases.push_back(ncase(
        OpKind::CrossEntropy, "cross_entropy none" + t,
        [](Args in) { return cross_entropy(in[0], in[1], "none"); }, {logits, tgt},
        make(losses, {3}, dt), tol_of(dt)));
    cases.push_back(ncase(
        OpKind::CrossEntropy, "cross_entropy i32 targets" + t,
        [](Args in) { return cross_entropy(in[0], in[1], "none"); }, {logits, tgt.to(DT::I32)},
        make(losses, {3}, dt), tol_of(dt)));
    cases.push_back(ncase(
        OpKind::CrossEntropy, "cross_entropy ignore_index skips rows in the mean" + t,
        [](Args in) { return cross_entropy(in[0], in[1], "mean", 3); }, {logits, tgt},
        make({(losses[0] + losses[2]) / 2}, {}, dt), tol_of(dt)));
    cases.push_back(ncase(
        OpKind::CrossEntropy, "cross_entropy ignore_index gives 0 in none" + t,
        [](Args in) { return cross_entropy(in[0], in[1], "none", 3); }, {logits, tgt},
        make({losses[0], 0, losses[2]}, {3}, dt), tol_of(dt)));
    cases.push_back(ncase(
        OpKind::CrossEntropy, "cross_entropy of transposed logits" + t,
        [](Args in) { return cross_entropy(in[0].transpose(0, 1), in[1], "sum"); },
        {logits.transpose(0, 1).contiguous(), tgt}, make({total}, {}, dt), tol_of(dt)));
  }
  cases.push_back(ncase(
      OpKind::CrossEntropy, "cross_entropy of 1-D logits and a 0-dim target",
      [](Args in) { return cross_entropy(in[0], in[1]); },
      {make({0, std::log(3.0)}, {2}), make({1}, {}, DT::I64)}, make({std::log(4.0 / 3)}, {}),
      tol_of(DT::F32)));
  cases.push_back(ncase(
      OpKind::CrossEntropy, "cross_entropy default ignore_index -100",
      [](Args in) { return cross_entropy(in[0], in[1], "sum"); },
      {make({0, 0, 5, 5}, {2, 2}), make({-100, 0}, {2}, DT::I64)}, make({std::log(2.0)}, {}),
      tol_of(DT::F32)));
  cases.push_back(ncase(
      OpKind::CrossEntropy, "cross_entropy with large logits is stable",
      [](Args in) { return cross_entropy(in[0], in[1], "none"); },
      {make({1000, 0, -1000, 1000}, {2, 2}), make({1, 1}, {2}, DT::I64)}, make({1000, 0}, {2}),
      tol_of(DT::F32)));
  cases.push_back(ncase(
      OpKind::CrossEntropy, "cross_entropy mean with every target ignored is NaN",
      [](Args in) { return cross_entropy(in[0], in[1], "mean", 0); },
      {make({1, 2}, {1, 2}), make({0}, {1}, DT::I64)}, make({kNaN}, {}), tol_of(DT::F32)));

  // embedding.
  Tensor weight = make({0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42}, {5, 3});
  cases.push_back(ncase(
      OpKind::Embedding, "embedding with 2-D indices",
      [](Args in) { return embedding(in[0], in[1]); },
      {make({0, 4, 2, 2}, {2, 2}, DT::I64), weight},
      make({0, 1, 2, 40, 41, 42, 20, 21, 22, 20, 21, 22}, {2, 2, 3})));
  cases.push_back(ncase(
      OpKind::Embedding, "embedding with i32 indices",
      [](Args in) { return embedding(in[0], in[1]); }, {make({3, 1}, {2}, DT::I32), weight},
      make({30, 31, 32, 10, 11, 12}, {2, 3})));
  cases.push_back(ncase(
      OpKind::Embedding, "embedding with a 0-dim index",
      [](Args in) { return embedding(in[0], in[1]); }, {make({2}, {}, DT::I64), weight},
      make({20, 21, 22}, {3})));
  cases.push_back(ncase(
      OpKind::Embedding, "embedding of a transposed f64 weight",
      [](Args in) { return embedding(in[0], in[1].transpose(0, 1)); },
      {make({2, 0}, {2}, DT::I64), weight.transpose(0, 1).contiguous().to(DT::F64)},
      make({20, 21, 22, 0, 1, 2}, {2, 3}, DT::F64)));
  cases.push_back(ncase(
      OpKind::Embedding, "embedding with strided indices",
      [](Args in) { return embedding(in[0].slice(0, 0, std::nullopt, 2), in[1]); },
      {make({4, 0, 3, 0}, {4}, DT::I64), weight}, make({40, 41, 42, 30, 31, 32}, {2, 3})));
  cases.push_back(ncase(
      OpKind::Embedding, "embedding with no indices",
      [](Args in) { return embedding(in[0], in[1]); }, {make({}, {0}, DT::I64), weight},
      make({}, {0, 3})));

  // one_hot.
  cases.push_back(ncase(
      OpKind::OneHot, "one_hot with explicit classes", [](Args in) { return one_hot(in[0], 4); },
      {make({0, 2, 1}, {3}, DT::I64)},
      make({1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0}, {3, 4}, DT::I64)));
  cases.push_back(ncase(
      OpKind::OneHot, "one_hot infers max + 1 classes", [](Args in) { return one_hot(in[0]); },
      {make({2, 0}, {2}, DT::I32)}, make({0, 0, 1, 1, 0, 0}, {2, 3}, DT::I64)));
  cases.push_back(ncase(
      OpKind::OneHot, "one_hot of 2-D input", [](Args in) { return one_hot(in[0], 2); },
      {make({1, 0, 0, 1}, {2, 2}, DT::I64)}, make({0, 1, 1, 0, 1, 0, 0, 1}, {2, 2, 2}, DT::I64)));
  cases.push_back(ncase(
      OpKind::OneHot, "one_hot of transposed input",
      [](Args in) { return one_hot(in[0].transpose(0, 1), 3); },
      {make({0, 1, 2, 0}, {2, 2}, DT::I64)},
      make({1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0}, {2, 2, 3}, DT::I64)));
  cases.push_back(ncase(
      OpKind::OneHot, "one_hot of a 0-dim input", [](Args in) { return one_hot(in[0], 3); },
      {make({1}, {}, DT::I64)}, make({0, 1, 0}, {3}, DT::I64)));
  return cases;
}

std::vector<OpErrorCase> nn_errors() {
  Tensor x = make({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  Tensor logits = make({0, 1, 2, 3, 4, 5, 6, 7}, {2, 4});
  Tensor weight = make(std::vector<double>(15, 1), {5, 3});
  const std::string range2 = "is out of range for a tensor of rank 2: expected a dim in [-2, 1]";
  return {
      {OpKind::Softmax, "softmax of an integer tensor",
       [] { (void)softmax(make({1, 2}, {2}, DType::I32), 0); },
       "softmax: input must be a floating-point tensor (f32 or f64), got i32"},
      {OpKind::Softmax, "softmax dim out of range", [x] { (void)softmax(x, 2); },
       "softmax: dim 2 " + range2},
      {OpKind::LogSoftmax, "log_softmax dim out of range", [x] { (void)log_softmax(x, -3); },
       "log_softmax: dim -3 " + range2},
      {OpKind::LogSoftmax, "log_softmax of bool",
       [] { (void)log_softmax(make({1}, {1}, DType::Bool), 0); },
       "log_softmax: input must be a floating-point tensor (f32 or f64), got bool"},
      {OpKind::LayerNorm, "layer_norm normalized_shape mismatch", [x] { (void)layer_norm(x, {3}); },
       "layer_norm: normalized_shape [3] must match the trailing dims of the input [2,4]"},
      {OpKind::LayerNorm, "layer_norm normalized_shape longer than the input",
       [x] { (void)layer_norm(x, {1, 2, 4}); },
       "layer_norm: normalized_shape [1,2,4] must match the trailing dims of the input [2,4]"},
      {OpKind::LayerNorm, "layer_norm weight of the wrong shape",
       [x] { (void)layer_norm(x, {4}, make({1, 1, 1}, {3})); },
       "layer_norm: weight must be f32[4], got f32[3]"},
      {OpKind::LayerNorm, "layer_norm bias of the wrong dtype",
       [x] {
         (void)layer_norm(x, {4}, make({1, 1, 1, 1}, {4}), make({0, 0, 0, 0}, {4}, DType::F64));
       },
       "layer_norm: bias must be f32[4], got f64[4]"},
      {OpKind::LayerNorm, "layer_norm bias without weight",
       [x] { (void)layer_norm(x, {4}, {}, make({0, 0, 0, 0}, {4})); },
       "layer_norm: a bias needs a weight; pass ones for the weight"},
      {OpKind::LayerNorm, "layer_norm negative eps", [x] { (void)layer_norm(x, {4}, {}, {}, -1); },
       "layer_norm: eps must be non-negative"},
      {OpKind::RmsNorm, "rms_norm normalized_shape mismatch", [x] { (void)rms_norm(x, {2}); },
       "rms_norm: normalized_shape [2] must match the trailing dims of the input [2,4]"},
      {OpKind::RmsNorm, "rms_norm of an integer tensor",
       [] { (void)rms_norm(make({1, 2}, {2}, DType::I64), {2}); },
       "rms_norm: input must be a floating-point tensor (f32 or f64), got i64"},
      {OpKind::Dropout, "dropout p above 1", [x] { (void)dropout(x, 1.5); },
       "dropout: p must be in [0, 1], got 1.5"},
      {OpKind::Dropout, "dropout p negative", [x] { (void)dropout(x, -0.1, false); },
       "dropout: p must be in [0, 1], got -0.1"},
      {OpKind::Dropout, "dropout of an integer tensor",
       [] { (void)dropout(make({1}, {1}, DType::I32)); },
       "dropout: input must be a floating-point tensor (f32 or f64), got i32"},
      {OpKind::MseLoss, "mse_loss shapes differ", [x] { (void)mse_loss(x, make({1, 2}, {2})); },
       "mse_loss: input shape [2,4] differs from target shape [2]"},
      {OpKind::MseLoss, "mse_loss unknown reduction", [x] { (void)mse_loss(x, x, "avg"); },
       "mse_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'"},
      {OpKind::CrossEntropy, "cross_entropy target out of range (found by the kernel)",
       [logits] { (void)cross_entropy(logits, make({1, 5}, {2}, DType::I64)); },
       "cross_entropy: target 5 at position 1 is out of range for 4 classes"},
      {OpKind::CrossEntropy, "cross_entropy negative target",
       [logits] { (void)cross_entropy(logits, make({-1, 0}, {2}, DType::I32)); },
       "cross_entropy: target -1 at position 0 is out of range for 4 classes"},
      {OpKind::CrossEntropy, "cross_entropy target of the wrong shape",
       [logits] { (void)cross_entropy(logits, make({1, 2, 3}, {3}, DType::I64)); },
       "cross_entropy: target must have shape [2] for logits [2,4], got [3]"},
      {OpKind::CrossEntropy, "cross_entropy float target",
       [logits] { (void)cross_entropy(logits, make({1, 2}, {2})); },
       "cross_entropy: target must be an integer tensor (i32 or i64), got f32"},
      {OpKind::CrossEntropy, "cross_entropy 3-D logits with 1-D targets",
       [] { (void)cross_entropy(make({1, 2}, {1, 1, 2}), make({0}, {1}, DType::I64)); },
       "cross_entropy: target must have shape [1,2] for logits [1,1,2], got [1]"},
      {OpKind::CrossEntropy, "cross_entropy unknown reduction",
       [logits] { (void)cross_entropy(logits, make({1, 2}, {2}, DType::I64), "max"); },
       "cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'max'"},
      {OpKind::Embedding, "embedding index out of range",
       [weight] { (void)embedding(make({0, 5}, {2}, DType::I64), weight); },
       "embedding: index 5 at position 1 is out of range: expected a value in [0, 5)"},
      {OpKind::Embedding, "embedding negative index",
       [weight] { (void)embedding(make({-1}, {1}, DType::I32), weight); },
       "embedding: index -1 at position 0 is out of range: expected a value in [0, 5)"},
      {OpKind::Embedding, "embedding float indices",
       [weight] { (void)embedding(make({0}, {1}), weight); },
       "embedding: indices must be an integer tensor (i32 or i64), got f32"},
      {OpKind::Embedding, "embedding 1-D weight",
       [] { (void)embedding(make({0}, {1}, DType::I64), make({1, 2}, {2})); },
       "embedding: weight must be 2-D [rows, dim], got [2]"},
      {OpKind::OneHot, "one_hot negative class",
       [] { (void)one_hot(make({0, -1}, {2}, DType::I64), 3); },
       "one_hot: index -1 at position 1 is out of range: expected a value in [0, 3)"},
      {OpKind::OneHot, "one_hot class beyond num_classes",
       [] { (void)one_hot(make({3}, {1}, DType::I64), 3); },
       "one_hot: index 3 at position 0 is out of range: expected a value in [0, 3)"},
      {OpKind::OneHot, "one_hot zero classes", [] { (void)one_hot(make({0}, {1}, DType::I64), 0); },
       "one_hot: number of classes must be positive, got 0"},
      {OpKind::OneHot, "one_hot float input", [] { (void)one_hot(make({0}, {1})); },
       "one_hot: input must be an integer tensor (i32 or i64), got f32"},
      {OpKind::OneHot, "one_hot float input with explicit classes",
       [] { (void)one_hot(make({0}, {1}), 2); },
       "one_hot: input must be an integer tensor (i32 or i64), got f32"},
      {OpKind::OneHot, "one_hot inferring classes of an empty tensor",
       [] { (void)one_hot(make({}, {0}, DType::I64)); },
       "one_hot: cannot infer the number of classes of an empty tensor"},
  };
}

TEST_SUITE("ops") {
  TEST_CASE("dropout: about half survive p=0.5 and are scaled by 2; same seed, same mask") {
    const int64_t n = 100000;
    Tensor x = ones({n});
    manual_seed(1234);
    Tensor y = dropout(x, 0.5);
    const std::vector<float> v = y.tolist<float>();
    int64_t kept = 0, other = 0;
    for (float e : v) {
      kept += e != 0.0f;
      other += e != 0.0f && e != 2.0f;
    }
    CHECK(other == 0);           // survivors are scaled by exactly 1/(1-p)
    CHECK(kept > n / 2 - 1000);  // about 6 standard deviations (sd = 158)
    CHECK(kept < n / 2 + 1000);

    manual_seed(1234);
    KILN_CHECK_CLOSE(dropout(x, 0.5), y, Tolerance{});
    // The generator advances: the next call draws a different mask.
    Tensor z = dropout(x, 0.5);
    CHECK(z.tolist<float>() != v);

    manual_seed(1234);
    Tensor y64 = dropout(x.to(DType::F64), 0.5);
    CHECK(y64.to(DType::F32).tolist<float>() ==
          v);  // the mask depends on seed and position, not dtype
  }

  TEST_CASE("dropout: p=0.9 keeps about a tenth, scaled by 10") {
    const int64_t n = 100000;
    manual_seed(99);
    const std::vector<double> v = dropout(ones({n}, DType::F64), 0.9).tolist<double>();
    int64_t kept = 0, other = 0;
    for (double e : v) {
      kept += e != 0.0;
      other += e != 0.0 && std::abs(e - 10.0) > 1e-12;
    }
    CHECK(other == 0);
    CHECK(kept > n / 10 - 600);  // sd = 95
    CHECK(kept < n / 10 + 600);
  }

  TEST_CASE("dropout: train=false and p=0 return the input itself") {
    Tensor x = ones({3});
    CHECK(dropout(x, 0.5, false).shares_storage(x));
    CHECK(dropout(x, 0.0).shares_storage(x));
    CHECK_FALSE(dropout(x, 0.5).shares_storage(x));
  }
}

}  // namespace kiln::test
