// Value and error cases for the reduce ops: every op over one dim, several dims, all dims
// and negative dims, against a double-precision reference; plus NaN, ties, empty and
// non-contiguous inputs, integer and bool inputs, and a 1M-element accuracy check.
#include <algorithm>
#include <cmath>
#include <limits>

#include "op_cases.h"

namespace kiln::test {
namespace {

using Args = const std::vector<Tensor> &;
using RowFn = std::function<double(const std::vector<double> &)>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Reduces x over dims (empty = all; negative allowed) with fn applied to each group of
// elements sharing their kept indices, in row-major order within the group.
Tensor reference_reduce(const Tensor &x, std::vector<int64_t> dims, bool keepdim, DType dtype,
                        const RowFn &fn) {
  const int64_t rank = x.dim();
  std::vector<bool> reduced(static_cast<size_t>(rank), dims.empty());
  for (int64_t d : dims) reduced[static_cast<size_t>(d < 0 ? d + rank : d)] = true;
  Shape out_shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (!reduced[d])
      out_shape.push_back(x.size(d));
    else if (keepdim)
      out_shape.push_back(1);
  }
  std::vector<std::vector<double>> groups(static_cast<size_t>(numel(out_shape)));
  const std::vector<double> values = x.tolist<double>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t rem = i, out_index = 0, out_stride = 1;
    for (int64_t d = rank - 1; d >= 0; --d) {
      const int64_t idx = rem % x.size(d);
      rem /= x.size(d);
      if (reduced[d]) continue;
      out_index += idx * out_stride;
      out_stride *= x.size(d);
    }
    groups[static_cast<size_t>(out_index)].push_back(values[static_cast<size_t>(i)]);
  }
  std::vector<double> out;
  for (const auto &g : groups) out.push_back(fn(g));
  return make(out, out_shape, dtype);
}

double ref_sum(const std::vector<double> &v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
double ref_mean(const std::vector<double> &v) { return ref_sum(v) / static_cast<double>(v.size()); }
double ref_prod(const std::vector<double> &v) {
  double p = 1;
  for (double x : v) p *= x;
  return p;
}
// Index of the first extreme element; a NaN is the extreme.
double ref_arg(const std::vector<double> &v, bool want_max) {
  size_t best = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) return static_cast<double>(i);
    if (want_max ? v[i] > v[best] : v[i] < v[best]) best = i;
  }
  return static_cast<double>(best);
}
double ref_var(const std::vector<double> &v, double correction) {
  const double m = ref_mean(v);
  double m2 = 0;
  for (double x : v) m2 += (x - m) * (x - m);
  return m2 / (static_cast<double>(v.size()) - correction);
}
double ref_logsumexp(const std::vector<double> &v) {
  double m = -kInf;
  for (double x : v) m = std::max(m, x);
  if (std::isinf(m)) return m;
  double s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}

// One reduce op as the table drives it: how to call it, its reference, and its result dtype.
struct ReduceOp {
  OpKind op;
  std::string name;
  std::function<Tensor(const Tensor &, const std::vector<int64_t> &, bool)> call;
  RowFn ref;
  std::function<DType(DType)> result_dtype;
  std::vector<DType> dtypes;  // input dtypes the op accepts
  bool single_dim = false;    // argmax/argmin take at most one dim
};

DType same(DType d) { return d; }
DType wide_int(DType d) { return is_floating(d) ? d : DType::I64; }
DType float_of(DType d) { return is_floating(d) ? d : DType::F32; }

std::vector<ReduceOp> reduce_ops() {
  using DT = DType;
  const std::vector<DType> numeric = {DT::F32, DT::F64, DT::I32, DT::I64};
  const std::vector<DType> all_types = {DT::F32, DT::F64, DT::I32, DT::I64, DT::Bool};
  auto arg = [](bool want_max) {
    return [want_max](const Tensor &x, const std::vector<int64_t> &d, bool keep) {
      std::optional<int64_t> dim;
      if (!d.empty()) dim = d[0];
      return want_max ? argmax(x, dim, keep) : argmin(x, dim, keep);
    };
  };
  return {
      {OpKind::Sum, "sum", [](const Tensor &x, const auto &d, bool k) { return sum(x, d, k); },
       ref_sum, wide_int, all_types},
      {OpKind::Mean,
       "mean",
       [](const Tensor &x, const auto &d, bool k) { return mean(x, d, k); },
       ref_mean,
       same,
       {DT::F32, DT::F64}},
      {OpKind::Max, "max", [](const Tensor &x, const auto &d, bool k) { return max(x, d, k); },
       [](const auto &v) { return v[static_cast<size_t>(ref_arg(v, true))]; }, same, all_types},
      {OpKind::Min, "min", [](const Tensor &x, const auto &d, bool k) { return min(x, d, k); },
       [](const auto &v) { return v[static_cast<size_t>(ref_arg(v, false))]; }, same, all_types},
      {OpKind::Prod, "prod", [](const Tensor &x, const auto &d, bool k) { return prod(x, d, k); },
       ref_prod, wide_int, all_types},
      {OpKind::Argmax, "argmax", arg(true), [](const auto &v) { return ref_arg(v, true); },
       [](DType) { return DType::I64; }, numeric, true},
      {OpKind::Argmin, "argmin", arg(false), [](const auto &v) { return ref_arg(v, false); },
       [](DType) { return DType::I64; }, numeric, true},
      {OpKind::Var, "var",
       [](const Tensor &x, const auto &d, bool k) { return var(x, d, true, k); },
       [](const auto &v) { return ref_var(v, 1); }, float_of, numeric},
      {OpKind::Var, "var biased",
       [](const Tensor &x, const auto &d, bool k) { return var(x, d, false, k); },
       [](const auto &v) { return ref_var(v, 0); }, float_of, numeric},
      {OpKind::Std, "std",
       [](const Tensor &x, const auto &d, bool k) { return kiln::std(x, d, true, k); },
       [](const auto &v) { return std::sqrt(ref_var(v, 1)); }, float_of, numeric},
      {OpKind::Std, "std biased",
       [](const Tensor &x, const auto &d, bool k) { return kiln::std(x, d, false, k); },
       [](const auto &v) { return std::sqrt(ref_var(v, 0)); }, float_of, numeric},
      {OpKind::All, "all", [](const Tensor &x, const auto &d, bool k) { return all(x, d, k); },
       [](const auto &v) {
         return double(std::all_of(v.begin(), v.end(), [](double e) { return e != 0; }));
       },
       [](DType) { return DType::Bool; }, all_types},
      {OpKind::Any, "any", [](const Tensor &x, const auto &d, bool k) { return any(x, d, k); },
       [](const auto &v) {
         return double(std::any_of(v.begin(), v.end(), [](double e) { return e != 0; }));
       },
       [](DType) { return DType::Bool; }, all_types},
      {OpKind::Logsumexp, "logsumexp",
       [](const Tensor &x, const auto &d, bool k) { return logsumexp(x, d, k); }, ref_logsumexp,
       float_of, numeric},
  };
}

// [2,3,4] inputs. Floats have ties (rows 0, 1, 2 repeat their max) and a constant row;
// integers have zeros (rows 0 and 4) and no overflow in any product; bools have an
// all-true and an all-false row.
Tensor input_3d(DType dtype) {
  if (dtype == DType::Bool)
    return make({1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0}, {2, 3, 4},
                dtype);
  if (!is_floating(dtype))
    return make({3, -1, 2, 0, 5, -4, 1, 2, -2, 7, 1, -3, 4, 2, -1, 1, 0, 6, -5, 3, 2, -2, 1, 1},
                {2, 3, 4}, dtype);
  return make({1.5,  -2, 3,    3,    0.25, 4,    -1,   4,   2,    2,  2,    2,
               -3.5, 0,  0.75, -0.5, 1,    1.25, -0.5, 0.5, 1.75, -2, 1.75, 0.75},
              {2, 3, 4}, dtype);
}

Tolerance tolerance_for(DType dtype) {
  return dtype == DType::F64 ? Tolerance{1e-12, 1e-12} : Tolerance{1e-5, 1e-5};
}

// Every op, over each accepted dtype, over a set of dim choices with and without keepdim.
void add_table_cases(std::vector<OpCase> &cases) {
  const std::vector<std::pair<std::vector<int64_t>, std::string>> dim_sets = {
      {{1}, "dim 1"},
      {{-1}, "dim -1"},
      {{0, 2}, "dims {0,2}"},
      {{-3, -2}, "dims {-3,-2}"},
      {{}, "all dims"}};
  for (const ReduceOp &r : reduce_ops())
    for (DType dtype : r.dtypes)
      for (const auto &[dims, dims_name] : dim_sets)
        for (bool keepdim : {false, true}) {
          if (r.single_dim && dims.size() > 1) continue;
          Tensor x = input_3d(dtype);
          const DType out = r.result_dtype(dtype);
          cases.push_back(
              {r.op,
               r.name + " " + std::string(dtype_name(dtype)) + " " + dims_name +
                   (keepdim ? " keepdim" : ""),
               [call = r.call, dims, keepdim](Args in) { return call(in[0], dims, keepdim); },
               {x},
               reference_reduce(x, dims, keepdim, out, r.ref),
               tolerance_for(out)});
        }
}

// Non-contiguous inputs: every op sees the same values through four kinds of strides.
void add_strided_cases(std::vector<OpCase> &cases) {
  Tensor base = input_3d(DType::F32);
  Tensor row = make({0.5, -1.5, 2.25, 1}, {4});
  const std::vector<std::pair<Tensor, std::string>> inputs = {
      {base.transpose(0, 2), "transposed"},
      {base.slice(2, 1, std::nullopt, 2), "sliced with step"},
      {row.expand({3, 4}), "expanded"},
      {as_strided_copy(base), "as_strided_copy"},
  };
  for (const ReduceOp &r : reduce_ops())
    for (const auto &[x, how] : inputs)
      for (const std::vector<int64_t> &dims : {std::vector<int64_t>{0}, std::vector<int64_t>{-1}})
        cases.push_back({r.op,
                         r.name + " f32 " + how + " input over dim " + std::to_string(dims[0]),
                         [call = r.call, dims](Args in) { return call(in[0], dims, false); },
                         {x},
                         reference_reduce(x, dims, false, r.result_dtype(DType::F32), r.ref),
                         tolerance_for(DType::F32)});
}

OpCase make_case(OpKind op, std::string name, std::function<Tensor(Args)> fn,
                 std::vector<Tensor> inputs, Tensor expected, Tolerance tol = {}) {
  return {op, std::move(name), std::move(fn), std::move(inputs), std::move(expected), tol};
}

}  // namespace

std::vector<OpCase> reduce_cases() {
  std::vector<OpCase> cases;
  add_table_cases(cases);
  add_strided_cases(cases);

  using DT = DType;
  const Tolerance f32 = tolerance_for(DT::F32);

  // Hand-computed values and result dtypes.
  Tensor m = make({1, 2, 3, 4, 5, 6}, {2, 3});
  cases.push_back(make_case(
      OpKind::Sum, "sum f32 [2,3] dim 0", [](Args in) { return sum(in[0], 0); }, {m},
      make({5, 7, 9}, {3}), f32));
  cases.push_back(make_case(
      OpKind::Sum, "sum i32 gives i64", [](Args in) { return sum(in[0], 1); }, {m.to(DT::I32)},
      make({6, 15}, {2}, DT::I64)));
  cases.push_back(make_case(
      OpKind::Sum, "sum bool counts trues as i64", [](Args in) { return sum(in[0]); },
      {make({1, 0, 1, 1}, {4}, DT::Bool)}, make({3}, {}, DT::I64)));
  cases.push_back(make_case(
      OpKind::Sum, "sum of a 0-dim tensor is itself", [](Args in) { return sum(in[0]); },
      {make({2.5}, {})}, make({2.5}, {}), f32));
  cases.push_back(make_case(
      OpKind::Sum, "sum over dim 0 of a 0-dim tensor", [](Args in) { return sum(in[0], 0, true); },
      {make({2.5}, {})}, make({2.5}, {}), f32));
  cases.push_back(make_case(
      OpKind::Prod, "prod i32 gives i64", [](Args in) { return prod(in[0], 1); }, {m.to(DT::I32)},
      make({6, 120}, {2}, DT::I64)));
  cases.push_back(make_case(
      OpKind::Prod, "prod i32 does not overflow at 2^31", [](Args in) { return prod(in[0]); },
      {make({65536, 65536, 4}, {3}, DT::I32)}, make({17179869184.0}, {}, DT::I64)));
  cases.push_back(make_case(
      OpKind::Mean, "mean f32 [2,3] dim 1 keepdim", [](Args in) { return mean(in[0], 1, true); },
      {m}, make({2, 5}, {2, 1}), f32));
  cases.push_back(make_case(
      OpKind::Var, "var of i32 computes in f32", [](Args in) { return var(in[0], 1); },
      {m.to(DT::I32)}, make({1, 1}, {2}), f32));
  cases.push_back(make_case(
      OpKind::Var, "var biased [2,3] dim 1", [](Args in) { return var(in[0], 1, false); }, {m},
      make({2.0 / 3, 2.0 / 3}, {2}), f32));
  cases.push_back(make_case(
      OpKind::Var, "var unbiased of one element is NaN", [](Args in) { return var(in[0], 0); },
      {make({3}, {1})}, make({kNaN}, {}), f32));
  cases.push_back(make_case(
      OpKind::Std, "std of i64 computes in f32", [](Args in) { return kiln::std(in[0]); },
      {make({2, 4, 4, 4, 5, 5, 7, 9}, {8}, DT::I64)}, make({std::sqrt(32.0 / 7)}, {}), f32));
  cases.push_back(make_case(
      OpKind::Std, "std biased textbook example",
      [](Args in) { return kiln::std(in[0], {}, false); },
      {make({2, 4, 4, 4, 5, 5, 7, 9}, {8}, DT::F64)}, make({2}, {}, DT::F64),
      tolerance_for(DT::F64)));
  cases.push_back(make_case(
      OpKind::Logsumexp, "logsumexp of i32 computes in f32",
      [](Args in) { return logsumexp(in[0], 0); }, {make({0, 0}, {2}, DT::I32)},
      make({std::log(2.0)}, {}), f32));
  cases.push_back(make_case(
      OpKind::Logsumexp, "logsumexp of large values does not overflow",
      [](Args in) { return logsumexp(in[0], -1); }, {make({1000, 1000, -kInf}, {3})},
      make({1000 + std::log(2.0)}, {}), f32));
  cases.push_back(make_case(
      OpKind::Logsumexp, "logsumexp of all -inf is -inf",
      [](Args in) { return logsumexp(in[0], -1); }, {make({-kInf, -kInf}, {2})}, make({-kInf}, {}),
      f32));
  cases.push_back(make_case(
      OpKind::Max, "max bool", [](Args in) { return max(in[0], 1); },
      {make({0, 1, 0, 0}, {2, 2}, DT::Bool)}, make({1, 0}, {2}, DT::Bool)));
  cases.push_back(make_case(
      OpKind::Min, "min i64 with extremes", [](Args in) { return min(in[0]); },
      {from_vector<int64_t>({5, std::numeric_limits<int64_t>::min(), 7})},
      from_vector<int64_t>({std::numeric_limits<int64_t>::min()}, Shape{})));
  cases.push_back(make_case(
      OpKind::Max, "max with -inf entries", [](Args in) { return max(in[0], 0); },
      {make({-kInf, -kInf, -kInf, 2}, {2, 2})}, make({-kInf, 2}, {2}), f32));
  cases.push_back(make_case(
      OpKind::Argmax, "argmax without dim keepdim keeps every dim as 1",
      [](Args in) { return argmax(in[0], std::nullopt, true); }, {m}, make({5}, {1, 1}, DT::I64)));
  cases.push_back(make_case(
      OpKind::Argmax, "argmax of ties is the first index", [](Args in) { return argmax(in[0], 1); },
      {make({3, 1, 3, 2, 2, 2}, {2, 3})}, make({0, 0}, {2}, DT::I64)));
  cases.push_back(make_case(
      OpKind::Argmin, "argmin of ties is the first index", [](Args in) { return argmin(in[0]); },
      {make({4, 1, 3, 1, 1}, {5}, DT::I32)}, make({1}, {}, DT::I64)));
  cases.push_back(make_case(
      OpKind::All, "all of f32 tests nonzero", [](Args in) { return all(in[0], 1); },
      {make({1, -0.5, 0, 2}, {2, 2})}, make({1, 0}, {2}, DT::Bool)));
  cases.push_back(make_case(
      OpKind::Any, "any of i32 tests nonzero", [](Args in) { return any(in[0], 0); },
      {make({0, 0, 0, 3}, {2, 2}, DT::I32)}, make({0, 1}, {2}, DT::Bool)));

  // NaN propagates through max/min/sum; arg reductions point at the first NaN.
  Tensor with_nan = make({1, kNaN, 3, kNaN, 2, 0, -1, 5}, {2, 4});
  cases.push_back(make_case(
      OpKind::Max, "max with NaN is NaN", [](Args in) { return max(in[0], 1); }, {with_nan},
      make({kNaN, 5}, {2}), f32));
  cases.push_back(make_case(
      OpKind::Max, "max with NaN last is NaN", [](Args in) { return max(in[0]); },
      {make({1, 7, kNaN}, {3})}, make({kNaN}, {}), f32));
  cases.push_back(make_case(
      OpKind::Min, "min with NaN is NaN", [](Args in) { return min(in[0], 1); }, {with_nan},
      make({kNaN, -1}, {2}), f32));
  cases.push_back(make_case(
      OpKind::Sum, "sum with NaN is NaN", [](Args in) { return sum(in[0], 1); }, {with_nan},
      make({kNaN, 6}, {2}), f32));
  cases.push_back(make_case(
      OpKind::Argmax, "argmax returns the first NaN", [](Args in) { return argmax(in[0], 1); },
      {with_nan}, make({1, 3}, {2}, DT::I64)));
  cases.push_back(make_case(
      OpKind::Argmin, "argmin returns the first NaN", [](Args in) { return argmin(in[0]); },
      {make({5, -1, kNaN, kNaN}, {4}, DT::F64)}, make({2}, {}, DT::I64)));
  cases.push_back(make_case(
      OpKind::Logsumexp, "logsumexp with NaN is NaN", [](Args in) { return logsumexp(in[0], 1); },
      {with_nan}, make({kNaN, ref_logsumexp({2, 0, -1, 5})}, {2}), f32));

  // Reductions over a 0-size dim give the identity of the reduction.
  Tensor empty = make({}, {2, 0, 3});
  cases.push_back(make_case(
      OpKind::Sum, "sum over a 0-size dim is 0", [](Args in) { return sum(in[0], 1); }, {empty},
      make({0, 0, 0, 0, 0, 0}, {2, 3}), f32));
  cases.push_back(make_case(
      OpKind::Sum, "sum of an empty tensor over all dims is 0", [](Args in) { return sum(in[0]); },
      {empty.to(DT::I32)}, make({0}, {}, DT::I64)));
  cases.push_back(make_case(
      OpKind::Sum, "sum over a non-empty dim of an empty tensor is empty",
      [](Args in) { return sum(in[0], 0); }, {empty}, make({}, {0, 3}), f32));
  cases.push_back(make_case(
      OpKind::Prod, "prod over a 0-size dim is 1", [](Args in) { return prod(in[0], 1, true); },
      {empty}, make({1, 1, 1, 1, 1, 1}, {2, 1, 3}), f32));
  cases.push_back(make_case(
      OpKind::Mean, "mean over a 0-size dim is NaN", [](Args in) { return mean(in[0], 1); },
      {empty}, make(std::vector<double>(6, kNaN), {2, 3}), f32));
  cases.push_back(make_case(
      OpKind::All, "all over a 0-size dim is true", [](Args in) { return all(in[0], 1); }, {empty},
      make(std::vector<double>(6, 1), {2, 3}, DT::Bool)));
  cases.push_back(make_case(
      OpKind::Any, "any over a 0-size dim is false", [](Args in) { return any(in[0], 1); }, {empty},
      make(std::vector<double>(6, 0), {2, 3}, DT::Bool)));
  cases.push_back(make_case(
      OpKind::Logsumexp, "logsumexp over a 0-size dim is -inf",
      [](Args in) { return logsumexp(in[0], 1); }, {empty},
      make(std::vector<double>(6, -kInf), {2, 3}), f32));
  cases.push_back(make_case(
      OpKind::Max, "max over a non-empty dim of an empty tensor is empty",
      [](Args in) { return max(in[0], 0); }, {empty}, make({}, {0, 3}), f32));
  cases.push_back(make_case(
      OpKind::Argmin, "argmin over a non-empty dim of an empty tensor is empty",
      [](Args in) { return argmin(in[0], 2); }, {empty}, make({}, {2, 0}, DT::I64)));
  cases.push_back(make_case(
      OpKind::Var, "var over a 0-size dim is NaN", [](Args in) { return var(in[0], 1); }, {empty},
      make(std::vector<double>(6, kNaN), {2, 3}), f32));
  cases.push_back(make_case(
      OpKind::Std, "std over a 0-size dim is NaN",
      [](Args in) { return kiln::std(in[0], 1, false); }, {empty},
      make(std::vector<double>(6, kNaN), {2, 3}), f32));
  cases.push_back(make_case(
      OpKind::Min, "min over a non-empty dim of an empty tensor is empty",
      [](Args in) { return min(in[0], 2); }, {empty}, make({}, {2, 0}), f32));
  cases.push_back(make_case(
      OpKind::Argmax, "argmax over a non-empty dim of an empty tensor is empty",
      [](Args in) { return argmax(in[0], 0, true); }, {empty}, make({}, {1, 0, 3}, DT::I64)));

  // Accuracy: one f32 running sum would drift far beyond these tolerances.
  const int64_t big = int64_t{1} << 20;
  Tensor ones_1m = make(std::vector<double>(static_cast<size_t>(big), 1.0), {big});
  std::vector<double> ramp(static_cast<size_t>(big));
  for (int64_t i = 0; i < big; ++i)
    ramp[static_cast<size_t>(i)] = static_cast<double>(i) / static_cast<double>(big - 1);
  Tensor ramp_1m = make(ramp, {big});  // f32-rounded values; the reference reads them back
  cases.push_back(make_case(
      OpKind::Sum, "sum of 2^20 f32 ones is exact", [](Args in) { return sum(in[0]); }, {ones_1m},
      make({static_cast<double>(big)}, {})));
  cases.push_back(make_case(OpKind::Sum, "sum of a 2^20 f32 ramp",
                            [](Args in) { return sum(in[0]); }, {ramp_1m},
                            reference_reduce(ramp_1m, {}, false, DT::F32, ref_sum), {0, 1e-6}));
  cases.push_back(make_case(OpKind::Mean, "mean of a 2^20 f32 ramp",
                            [](Args in) { return mean(in[0]); }, {ramp_1m},
                            reference_reduce(ramp_1m, {}, false, DT::F32, ref_mean), {0, 1e-6}));
  cases.push_back(make_case(
      OpKind::Var, "var of a 2^20 f32 ramp", [](Args in) { return var(in[0]); }, {ramp_1m},
      reference_reduce(ramp_1m, {}, false, DT::F32, [](const auto &v) { return ref_var(v, 1); }),
      {0, 1e-5}));
  Tensor ramp_2d = ramp_1m.reshape({1024, 1024});
  cases.push_back(make_case(OpKind::Sum, "sum of a 1024x1024 f32 ramp over dim 0 (strided rows)",
                            [](Args in) { return sum(in[0], 0); }, {ramp_2d},
                            reference_reduce(ramp_2d, {0}, false, DT::F32, ref_sum), {0, 1e-6}));
  cases.push_back(make_case(
      OpKind::Logsumexp, "logsumexp of 2^20 f32 zeros is log(2^20)",
      [](Args in) { return logsumexp(in[0]); }, {ones_1m - 1.0}, make({20 * std::log(2.0)}, {}),
      f32));
  return cases;
}

std::vector<OpErrorCase> reduce_errors() {
  Tensor x = input_3d(DType::F32);
  Tensor empty = make({}, {2, 0, 3});
  const std::string range3 = "is out of range for a tensor of rank 3: expected a dim in [-3, 2]";
  return {
      {OpKind::Sum, "sum dim out of range", [x] { (void)sum(x, 3); }, "sum: dim 3 " + range3},
      {OpKind::Sum, "sum repeated dim", [x] { (void)sum(x, {0, -3}); },
       "sum: dim 0 appears more than once in dims [0,-3]"},
      {OpKind::Mean, "mean of an integer tensor", [x] { (void)mean(x.to(DType::I32), 0); },
       "mean: input must be a floating-point tensor (f32 or f64), got i32\n  hint: convert first, "
       "e.g. "
       "mean(x.to(kiln::DType::F32))"},
      {OpKind::Mean, "mean dim out of range", [x] { (void)mean(x, -4); }, "mean: dim -4 " + range3},
      {OpKind::Max, "max over a 0-size dim", [empty] { (void)max(empty, 1); },
       "max: cannot reduce over dim 1 of size 0: the reduction has no identity"},
      {OpKind::Max, "max over all dims of an empty tensor", [empty] { (void)max(empty); },
       "max: cannot reduce over dim 1 of size 0: the reduction has no identity"},
      {OpKind::Min, "min over a 0-size dim given as negative", [empty] { (void)min(empty, -2); },
       "min: cannot reduce over dim 1 of size 0: the reduction has no identity"},
      {OpKind::Prod, "prod dim out of range", [x] { (void)prod(x, {0, 5}); },
       "prod: dim 5 " + range3},
      {OpKind::Argmax, "argmax of an empty tensor", [empty] { (void)argmax(empty); },
       "argmax: cannot reduce over dim 0 of size 0: the reduction has no identity"},
      {OpKind::Argmax, "argmax of bool", [] { (void)argmax(make({1, 0}, {2}, DType::Bool)); },
       "argmax: input must be a numeric tensor, got bool"},
      {OpKind::Argmin, "argmin dim out of range", [x] { (void)argmin(x, 3); },
       "argmin: dim 3 " + range3},
      {OpKind::Var, "var repeated dim", [x] { (void)var(x, {1, 1}); },
       "var: dim 1 appears more than once in dims [1,1]"},
      {OpKind::Std, "std dim out of range", [x] { (void)kiln::std(x, -5); },
       "std: dim -5 " + range3},
      {OpKind::All, "all dim out of range", [x] { (void)all(x, 3); }, "all: dim 3 " + range3},
      {OpKind::Any, "any dim out of range", [x] { (void)any(x, {-4}); }, "any: dim -4 " + range3},
      {OpKind::Logsumexp, "logsumexp dim out of range", [x] { (void)logsumexp(x, 7); },
       "logsumexp: dim 7 " + range3},
      {OpKind::Sum, "sum of an undefined tensor", [] { (void)sum(Tensor()); },
       "sum: argument 0 is an undefined tensor"},
  };
}

}  // namespace kiln::test
