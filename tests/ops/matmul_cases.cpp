// Value and error cases for matmul (through kiln::matmul and kiln::linear) against a naive
// triple loop in double: every operand rank, broadcast batches, strided operands, sizes
// around the micro-kernel and block edges, zero sizes, every numeric dtype and promotion.
#include "op_cases.h"

namespace kiln::test {
namespace {

using Args = const std::vector<Tensor> &;

// Deterministic values: floats in [-1, 1), or small integers in [-5, 5] for integer dtypes.
Tensor filled(const Shape &shape, DType dtype, uint64_t seed) {
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (double &x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    const double u = static_cast<double>(s >> 11) / 9007199254740992.0;  // [0, 1)
    x = is_floating(dtype) ? 2 * u - 1 : std::floor(u * 11) - 5;
  }
  return make(v, shape, dtype);
}

// torch.matmul semantics in double: 1-D operands gain and then lose a dim, batch dims
// broadcast. The result is converted to `dtype`.
Tensor reference_matmul(const Tensor &a, const Tensor &b, DType dtype) {
  Shape sa = a.sizes(), sb = b.sizes();
  if (a.dim() == 1) sa.insert(sa.begin(), 1);
  if (b.dim() == 1) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  const size_t rank = std::max(ba.size(), bb.size());
  Shape batch(rank);
  auto padded = [rank](const Shape &s, size_t i) {
    return i < rank - s.size() ? 1 : s[i - (rank - s.size())];
  };
  for (size_t i = 0; i < rank; ++i) batch[i] = padded(ba, i) == 1 ? padded(bb, i) : padded(ba, i);
  const std::vector<double> va = a.tolist<double>(), vb = b.tolist<double>();
  std::vector<double> out;
  for (int64_t bi = 0; bi < numel(batch); ++bi) {
    int64_t rem = bi, off_a = 0, off_b = 0, stride_a = m * k, stride_b = k * n;
    for (size_t d = rank; d-- > 0;) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      const int64_t da = padded(ba, d), db = padded(bb, d);
      off_a += (da == 1 ? 0 : idx) * stride_a;
      off_b += (db == 1 ? 0 : idx) * stride_b;
      stride_a *= da;
      stride_b *= db;
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) s += va[off_a + i * k + p] * vb[off_b + p * n + j];
        out.push_back(s);
      }
  }
  Shape shape = batch;
  if (a.dim() > 1) shape.push_back(m);
  if (b.dim() > 1) shape.push_back(n);
  return make(out, shape, dtype);
}

// Rounding error of a length-k dot product of values in [-1, 1) grows with k.
Tolerance tolerance_for(DType dtype, int64_t k) {
  if (dtype == DType::F32) return {2e-6 * static_cast<double>(k + 1), 1e-5};
  if (dtype == DType::F64) return {1e-14 * static_cast<double>(k + 1), 1e-12};
  return {};
}

OpCase matmul_case(std::string name, Tensor a, Tensor b) {
  const DType d = promote_types(a.dtype(), b.dtype());
  Tensor want = reference_matmul(a, b, d);
  const Tolerance tol = tolerance_for(d, a.sizes().back());
  return {OpKind::Matmul,
          "matmul " + name,
          [](Args in) { return matmul(in[0], in[1]); },
          {a, b},
          want,
          tol};
}

}  // namespace

std::vector<OpCase> matmul_cases() {
  using DT = DType;
  std::vector<OpCase> cases;
  auto f = [](const Shape &s, uint64_t seed, DType d = DType::F32) { return filled(s, d, seed); };

  // Operand ranks.
  cases.push_back(matmul_case("1-D . 1-D is a 0-dim dot product", f({5}, 1), f({5}, 2)));
  cases.push_back(matmul_case("1-D x 2-D", f({4}, 3), f({4, 3}, 4)));
  cases.push_back(matmul_case("2-D x 1-D", f({3, 4}, 5), f({4}, 6)));
  cases.push_back(matmul_case("2-D x 2-D", f({3, 4}, 7), f({4, 5}, 8)));
  cases.push_back(matmul_case("3-D x 3-D batched", f({3, 4, 5}, 9), f({3, 5, 2}, 10)));
  cases.push_back(
      matmul_case("broadcast batch [2,1,3,4] x [5,4,2]", f({2, 1, 3, 4}, 11), f({5, 4, 2}, 12)));
  cases.push_back(matmul_case("2-D x batched [3,4] x [2,4,5]", f({3, 4}, 13), f({2, 4, 5}, 14)));
  cases.push_back(matmul_case("batched x 2-D [2,3,4] x [4,5]", f({2, 3, 4}, 15), f({4, 5}, 16)));
  cases.push_back(matmul_case("batched x 1-D [2,3,4] x [4]", f({2, 3, 4}, 17), f({4}, 18)));
  cases.push_back(matmul_case("1-D x batched [4] x [2,4,5]", f({4}, 19), f({2, 4, 5}, 20)));
  cases.push_back(matmul_case("many batches, one product per thread [16,5,6] x [16,6,7]",
                              f({16, 5, 6}, 21), f({16, 6, 7}, 22)));

  // Strided operands: transposed, sliced with steps, expanded (stride 0), as_strided_copy.
  cases.push_back(matmul_case("transposed lhs", f({4, 3}, 23).transpose(0, 1), f({4, 5}, 24)));
  cases.push_back(matmul_case("transposed rhs", f({3, 4}, 25), f({5, 4}, 26).transpose(0, 1)));
  cases.push_back(matmul_case("both transposed, 9x33x17", f({33, 9}, 27).transpose(0, 1),
                              f({17, 33}, 28).transpose(0, 1)));
  cases.push_back(matmul_case("sliced operands with steps",
                              f({6, 8}, 29).slice(1, 0, std::nullopt, 2),
                              f({9, 10}, 30).slice(0, 1, std::nullopt, 2).slice(1, 2, 7)));
  cases.push_back(matmul_case("expanded rhs (stride-0 batch)", f({3, 2, 4}, 31),
                              f({4, 5}, 32).expand({3, 4, 5})));
  cases.push_back(
      matmul_case("batched transposed rhs", f({2, 3, 4}, 33), f({2, 5, 4}, 34).transpose(1, 2)));
  // Packing transposes 8x8 blocks: remainders in rows, columns and depth, two depth blocks.
  cases.push_back(matmul_case("transposed rhs, 21x300x45", f({21, 300}, 177),
                              f({45, 300}, 178).transpose(0, 1)));
  cases.push_back(matmul_case("transposed lhs, 70x300x20", f({300, 70}, 179).transpose(0, 1),
                              f({300, 20}, 180)));
  cases.push_back(matmul_case("as_strided_copy operands", as_strided_copy(f({2, 7, 13}, 35)),
                              as_strided_copy(f({2, 13, 5}, 36))));

  // Sizes around the micro-tile (8 x 32 f32, 8 x 16 f64), the 256-deep k block, the
  // 1024-wide column block and the 256-row block.
  cases.push_back(matmul_case("1x1x1", f({1, 1}, 37), f({1, 1}, 38)));
  cases.push_back(matmul_case("7x13x5", f({7, 13}, 39), f({13, 5}, 40)));
  cases.push_back(matmul_case("9x33x17", f({9, 33}, 41), f({33, 17}, 42)));
  cases.push_back(matmul_case("8x16x32 exact tiles", f({8, 16}, 43), f({16, 32}, 44)));
  cases.push_back(matmul_case("65x300x70, k spans two blocks", f({65, 300}, 45), f({300, 70}, 46)));
  cases.push_back(
      matmul_case("3x5x1100, n spans two column blocks", f({3, 5}, 47), f({5, 1100}, 48)));
  cases.push_back(matmul_case("300x8x20, m spans row blocks", f({300, 8}, 49), f({8, 20}, 50)));
  cases.push_back(matmul_case("33x513x9, k spans three blocks", f({33, 513}, 51), f({513, 9}, 52)));

  // Zero sizes.
  cases.push_back(matmul_case("k = 0 gives zeros", f({3, 0}, 53), f({0, 4}, 54)));
  cases.push_back(matmul_case("m = 0", f({0, 4}, 55), f({4, 5}, 56)));
  cases.push_back(matmul_case("n = 0", f({3, 4}, 57), f({4, 0}, 58)));
  cases.push_back(matmul_case("0-size batch", f({0, 3, 4}, 59), f({4, 2}, 60)));
  cases.push_back(matmul_case("1-D dot of length 0 is 0", f({0}, 61), f({0}, 62)));

  // Dtypes and promotion.
  cases.push_back(matmul_case("f64 9x33x17", f({9, 33}, 63, DT::F64), f({33, 17}, 64, DT::F64)));
  cases.push_back(
      matmul_case("f64 65x300x70", f({65, 300}, 65, DT::F64), f({300, 70}, 66, DT::F64)));
  cases.push_back(matmul_case("i32 7x13x5", f({7, 13}, 67, DT::I32), f({13, 5}, 68, DT::I32)));
  cases.push_back(matmul_case("i32 batched transposed", f({2, 13, 7}, 69, DT::I32).transpose(1, 2),
                              f({2, 13, 5}, 70, DT::I32)));
  cases.push_back(
      matmul_case("i64 65x300x70", f({65, 300}, 71, DT::I64), f({300, 70}, 72, DT::I64)));
  cases.push_back(matmul_case("i32 x f32 promotes to f32", f({3, 4}, 73, DT::I32), f({4, 5}, 74)));
  cases.push_back(
      matmul_case("f32 1-D x i64 2-D promotes to f32", f({4}, 75), f({4, 2}, 76, DT::I64)));
  cases.push_back(
      matmul_case("i32 x i64 promotes to i64", f({3, 4}, 77, DT::I32), f({4, 5}, 78, DT::I64)));
  cases.push_back(matmul_case("f32 x f64 promotes to f64", f({3, 4}, 79), f({4, 5}, 80, DT::F64)));

  // Hand-computed.
  cases.push_back({OpKind::Matmul,
                   "matmul 2x2 by hand",
                   [](Args in) { return matmul(in[0], in[1]); },
                   {make({1, 2, 3, 4}, {2, 2}), make({5, 6, 7, 8}, {2, 2})},
                   make({19, 22, 43, 50}, {2, 2}),
                   {}});

  // linear: x @ weightᵀ + bias.
  Tensor x = f({4, 3}, 81), w = f({5, 3}, 82), bias = f({5}, 83), x3 = f({2, 4, 3}, 84);
  auto with_bias = [](const Tensor &y, const Tensor &b) {
    std::vector<double> v = y.tolist<double>(), bv = b.tolist<double>();
    for (size_t i = 0; i < v.size(); ++i) v[i] += bv[i % bv.size()];
    return make(v, y.sizes(), y.dtype());
  };
  Tensor xw = reference_matmul(x, w.transpose(0, 1), DT::F32);
  Tensor x3w = reference_matmul(x3, w.transpose(0, 1), DT::F32);
  const Tolerance tol3 = tolerance_for(DT::F32, 3);
  cases.push_back({OpKind::Matmul,
                   "linear without bias",
                   [](Args in) { return linear(in[0], in[1]); },
                   {x, w},
                   xw,
                   tol3});
  cases.push_back({OpKind::Matmul,
                   "linear with bias",
                   [](Args in) { return linear(in[0], in[1], in[2]); },
                   {x, w, bias},
                   with_bias(xw, bias),
                   tol3});
  cases.push_back({OpKind::Matmul,
                   "linear 3-D input with bias",
                   [](Args in) { return linear(in[0], in[1], in[2]); },
                   {x3, w, bias},
                   with_bias(x3w, bias),
                   tol3});
  cases.push_back({OpKind::Matmul,
                   "linear 3-D input without bias",
                   [](Args in) { return linear(in[0], in[1]); },
                   {x3, w},
                   x3w,
                   tol3});
  cases.push_back({OpKind::Matmul,
                   "linear 1-D input",
                   [](Args in) { return linear(in[0], in[1], in[2]); },
                   {x[1], w, bias},
                   with_bias(reference_matmul(x[1], w.transpose(0, 1), DT::F32), bias),
                   tol3});
  cases.push_back(
      {OpKind::Matmul,
       "linear transposed 3-D input",
       [](Args in) { return linear(in[0], in[1], in[2]); },
       {f({4, 2, 3}, 85).transpose(0, 1), w, bias},
       with_bias(reference_matmul(f({4, 2, 3}, 85).transpose(0, 1), w.transpose(0, 1), DT::F32),
                 bias),
       tol3});
  cases.push_back(
      {OpKind::Matmul,
       "linear by hand",
       [](Args in) { return linear(in[0], in[1], in[2]); },
       {make({1, 2}, {1, 2}), make({1, 0, 0, 1, 1, 1}, {3, 2}), make({10, 20, 30}, {3})},
       make({11, 22, 33}, {1, 3}),
       {}});
  return cases;
}

std::vector<OpErrorCase> matmul_errors() {
  Tensor a = make(std::vector<double>(12, 1), {3, 4});
  Tensor w = make(std::vector<double>(15, 1), {5, 3});
  return {
      {OpKind::Matmul, "inner dims differ", [] { (void)matmul(zeros({3, 4}), zeros({5, 6})); },
       "matmul: shapes [3,4] and [5,6] cannot be multiplied (4 != 5)"},
      {OpKind::Matmul, "1-D lengths differ", [] { (void)matmul(zeros({3}), zeros({4})); },
       "matmul: shapes [3] and [4] cannot be multiplied (3 != 4)"},
      {OpKind::Matmul, "batched inner dims differ",
       [] { (void)matmul(zeros({2, 3, 4}), zeros({2, 3, 4})); },
       "matmul: shapes [2,3,4] and [2,3,4] cannot be multiplied (4 != 3)"},
      {OpKind::Matmul, "0-dim operand", [] { (void)matmul(scalar_tensor(2.0), zeros({3})); },
       "matmul: both arguments must have at least 1 dim, got shapes [] and [3]"},
      {OpKind::Matmul, "bool operands",
       [] { (void)matmul(zeros({2, 2}, DType::Bool), zeros({2, 2})); },
       "matmul: bool tensors cannot be multiplied, got bool and f32"},
      {OpKind::Matmul, "batch dims do not broadcast",
       [] { (void)matmul(zeros({2, 3, 4}), zeros({3, 4, 5})); },
       "matmul: batch dims of [2,3,4] and [3,4,5] cannot be broadcast together (batch dim 0: 2 vs "
       "3)"},
      {OpKind::Matmul, "undefined operand", [a] { (void)matmul(a, Tensor()); },
       "matmul: argument 1 is an undefined tensor"},
      {OpKind::Matmul, "linear weight not 2-D", [a] { (void)linear(a, zeros({4})); },
       "linear: weight must be 2-D [out_features, in_features], got [4]"},
      {OpKind::Matmul, "linear input does not match weight", [a, w] { (void)linear(a, w); },
       "linear: input [3,4] does not match weight [5,3]: expected last dim 3, got 4"},
      {OpKind::Matmul, "linear bias of the wrong size",
       [w] { (void)linear(zeros({2, 3}), w, zeros({3})); },
       "linear: bias must have shape [5], got [3]"},
  };
}

}  // namespace kiln::test
