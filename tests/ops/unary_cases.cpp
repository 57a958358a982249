// Value and error cases for the one-operand elementwise ops. References apply std:: math in
// double to the input values read back with tolist<double>(), so every layout and dtype is
// checked against the same independent formula.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "op_cases.h"

namespace kiln::test {
namespace {

using UnaryFn = std::function<Tensor(const Tensor &)>;
using UnaryRef = std::function<double(double)>;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr DType kNumeric[] = {DType::F32, DType::F64, DType::I32, DType::I64};

// 24 values per domain, laid out as [4, 6]; integer dtypes see them truncated.
const std::vector<double> kReals = {-7.9,  -4.6, -3.7, -2.5, -1.5, -1.0, -0.75, -0.5,
                                    -0.25, -0.1, 0.0,  0.1,  0.25, 0.5,  0.75,  1.0,
                                    1.25,  1.5,  2.0,  2.5,  3.0,  3.5,  4.2,   6.3};
const std::vector<double> kPositive = {0.01, 0.05, 0.1, 0.2,  0.3,  0.5,  0.7,  0.9,
                                       1.0,  1.1,  1.5, 2.0,  2.5,  3.0,  3.7,  4.0,
                                       5.5,  7.0,  9.0, 12.0, 16.0, 25.0, 40.0, 99.0};
const std::vector<double> kAboveMinusOne = {-0.99, -0.9, -0.75, -0.5, -0.3, -0.1, -1e-4, -1e-7,
                                            0.0,   1e-7, 1e-4,  0.01, 0.1,  0.3,  0.5,   0.9,
                                            1.0,   1.5,  2.0,   3.0,  5.0,  10.0, 50.0,  1e3};

// The result dtype of an op defined on real numbers: integer and bool inputs compute in f32.
DType real_result(DType in) { return is_floating(in) ? in : DType::F32; }

Tensor reference(const Tensor &x, const UnaryRef &ref, DType out) {
  std::vector<double> v = x.tolist<double>();
  for (double &e : v) e = ref(e);
  return make(v, x.sizes(), out);
}

// The same 24 values as contiguous, transposed, step-sliced, expanded and strided-copy
// [4, 6] inputs, plus [0, 3], [] and [1] tensors.
std::vector<std::pair<std::string, Tensor>> layouts(const std::vector<double> &v, DType d) {
  std::vector<double> wide(48, v[0]);
  for (size_t i = 0; i < v.size(); ++i) wide[(i / 6) * 12 + (i % 6) * 2] = v[i];
  Tensor base = make(v, {4, 6}, d);
  return {{"contiguous [4,6]", base},
          {"transposed", make(v, {6, 4}, d).transpose(0, 1)},
          {"sliced with step 2", make(wide, {4, 12}, d).slice(1, 0, 12, 2)},
          {"expanded [1,6] to [4,6]", make({v.begin(), v.begin() + 6}, {1, 6}, d).expand({4, 6})},
          {"as_strided_copy", as_strided_copy(base)},
          {"0-size [0,3]", make({}, {0, 3}, d)},
          {"0-dim", make({v[3]}, {}, d)},
          {"1-element [1]", make({v[4]}, {1}, d)}};
}

struct Unary {
  OpKind op;
  std::string name;
  UnaryFn fn;
  UnaryRef ref;
  const std::vector<double> &domain;
  std::vector<DType> dtypes;
  DType (*result)(DType);  // result dtype from input dtype
};

DType same_dtype(DType in) { return in; }
DType bool_result(DType) { return DType::Bool; }

void add_layout_cases(std::vector<OpCase> &cases, const Unary &u) {
  for (DType d : u.dtypes) {
    DType out = u.result(d);
    for (auto &[layout, x] : layouts(u.domain, d))
      cases.push_back({u.op,
                       fmt::format("{} {} {}", u.name, dtype_name(d), layout),
                       [fn = u.fn](const std::vector<Tensor> &in) { return fn(in[0]); },
                       {x},
                       reference(x, u.ref, out),
                       default_tolerance(out)});
  }
}

// A long f32 input, contiguous and transposed, so the vectorised and threaded paths of
// fast_math.h run against libm in double.
void add_wide_cases(std::vector<OpCase> &cases, OpKind op, const std::string &name,
                    const UnaryFn &fn, const UnaryRef &ref, double lo, double hi, Tolerance tol) {
  Tensor line = linspace(lo, hi, 100000);
  Tensor grid = linspace(lo, hi, 100000).reshape({250, 400}).transpose(0, 1);
  for (auto &[what, x] : {std::pair{"contiguous", line}, std::pair{"transposed", grid}})
    cases.push_back({op,
                     fmt::format("{} f32 100k values in [{}, {}] {}", name, lo, hi, what),
                     [fn](const std::vector<Tensor> &in) { return fn(in[0]); },
                     {x},
                     reference(x, ref, DType::F32),
                     tol});
}

// Hand-written special values (inf, NaN, signed zero, ties) in f32 and f64.
void add_special(std::vector<OpCase> &cases, OpKind op, const std::string &name, const UnaryFn &fn,
                 const std::vector<double> &in, const std::vector<double> &want) {
  for (DType d : {DType::F32, DType::F64}) {
    Shape shape{static_cast<int64_t>(in.size())};
    cases.push_back({op,
                     fmt::format("{} {} special values", name, dtype_name(d)),
                     [fn](const std::vector<Tensor> &v) { return fn(v[0]); },
                     {make(in, shape, d)},
                     make(want, shape, d),
                     {0, 0}});
  }
}

double gelu_erf(double x) { return 0.5 * x * (1 + std::erf(x / std::numbers::sqrt2)); }
double gelu_tanh(double x) {
  const double k = std::sqrt(2 / std::numbers::pi);
  return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x)));
}
double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }
double sign_ref(double x) { return std::isnan(x) ? x : (x > 0) - (x < 0); }

std::vector<Unary> unary_table() {
  const std::vector<DType> all = {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool};
  const std::vector<DType> numeric(std::begin(kNumeric), std::end(kNumeric));
  auto r = real_result;
  return {
      {OpKind::Neg, "neg", [](const Tensor &x) { return neg(x); }, [](double x) { return -x; },
       kReals, numeric, same_dtype},
      {OpKind::Neg, "operator-", [](const Tensor &x) { return -x; }, [](double x) { return -x; },
       kReals, numeric, same_dtype},
      {OpKind::Abs, "abs", [](const Tensor &x) { return abs(x); },
       [](double x) { return std::fabs(x); }, kReals, numeric, same_dtype},
      {OpKind::Exp, "exp", [](const Tensor &x) { return exp(x); },
       [](double x) { return std::exp(x); }, kReals, all, r},
      {OpKind::Log, "log", [](const Tensor &x) { return log(x); },
       [](double x) { return std::log(x); }, kPositive, all, r},
      {OpKind::Log1p, "log1p", [](const Tensor &x) { return log1p(x); },
       [](double x) { return std::log1p(x); }, kAboveMinusOne, all, r},
      {OpKind::Expm1, "expm1", [](const Tensor &x) { return expm1(x); },
       [](double x) { return std::expm1(x); }, kAboveMinusOne, all, r},
      {OpKind::Sqrt, "sqrt", [](const Tensor &x) { return sqrt(x); },
       [](double x) { return std::sqrt(x); }, kPositive, all, r},
      {OpKind::Rsqrt, "rsqrt", [](const Tensor &x) { return rsqrt(x); },
       [](double x) { return 1 / std::sqrt(x); }, kPositive, all, r},
      {OpKind::Sin, "sin", [](const Tensor &x) { return sin(x); },
       [](double x) { return std::sin(x); }, kReals, all, r},
      {OpKind::Cos, "cos", [](const Tensor &x) { return cos(x); },
       [](double x) { return std::cos(x); }, kReals, all, r},
      {OpKind::Tanh, "tanh", [](const Tensor &x) { return tanh(x); },
       [](double x) { return std::tanh(x); }, kReals, all, r},
      {OpKind::Sigmoid, "sigmoid", [](const Tensor &x) { return sigmoid(x); }, sigmoid_ref, kReals,
       all, r},
      {OpKind::Relu, "relu", [](const Tensor &x) { return relu(x); },
       [](double x) { return x < 0 ? 0.0 : x; }, kReals, numeric, same_dtype},
      {OpKind::Gelu, "gelu", [](const Tensor &x) { return gelu(x); }, gelu_erf, kReals, all, r},
      {OpKind::Gelu, "gelu tanh", [](const Tensor &x) { return gelu(x, "tanh"); }, gelu_tanh,
       kReals, all, r},
      {OpKind::Silu, "silu", [](const Tensor &x) { return silu(x); },
       [](double x) { return x * sigmoid_ref(x); }, kReals, all, r},
      {OpKind::Erf, "erf", [](const Tensor &x) { return erf(x); },
       [](double x) { return std::erf(x); }, kReals, all, r},
      {OpKind::Reciprocal, "reciprocal", [](const Tensor &x) { return reciprocal(x); },
       [](double x) { return 1 / x; }, kReals, all, r},
      {OpKind::Floor, "floor", [](const Tensor &x) { return floor(x); },
       [](double x) { return std::floor(x); }, kReals, numeric, same_dtype},
      {OpKind::Ceil, "ceil", [](const Tensor &x) { return ceil(x); },
       [](double x) { return std::ceil(x); }, kReals, numeric, same_dtype},
      {OpKind::Round, "round", [](const Tensor &x) { return round(x); },
       [](double x) { return std::nearbyint(x); }, kReals, numeric, same_dtype},
      {OpKind::Sign, "sign", [](const Tensor &x) { return sign(x); }, sign_ref, kReals, numeric,
       same_dtype},
      {OpKind::LogicalNot, "logical_not", [](const Tensor &x) { return logical_not(x); },
       [](double x) { return x == 0 ? 1.0 : 0.0; }, kReals, all, bool_result},
      {OpKind::LogicalNot, "operator!", [](const Tensor &x) { return !x; },
       [](double x) { return x == 0 ? 1.0 : 0.0; }, kReals, all, bool_result},
      {OpKind::Clamp, "clamp(-1, 2)", [](const Tensor &x) { return clamp(x, -1, 2); },
       [](double x) { return std::clamp(x, -1.0, 2.0); }, kReals, numeric, same_dtype},
      {OpKind::Clamp,
       "clamp(min=0.5)",
       [](const Tensor &x) { return clamp(x, 0.5); },
       [](double x) { return x < 0.5 ? 0.5 : x; },
       kReals,
       {DType::F32, DType::F64},
       same_dtype},
      {OpKind::Clamp,
       "clamp(max=1.5)",
       [](const Tensor &x) { return clamp(x, {}, 1.5); },
       [](double x) { return x > 1.5 ? 1.5 : x; },
       kReals,
       {DType::F32, DType::F64},
       same_dtype},
      {OpKind::Convert, "to(f64)", [](const Tensor &x) { return x.to(DType::F64); },
       [](double x) { return x; }, kReals, all, [](DType) { return DType::F64; }},
      {OpKind::Convert, "to(i64)", [](const Tensor &x) { return x.to(DType::I64); },
       [](double x) { return std::trunc(x); }, kReals, all, [](DType) { return DType::I64; }},
      {OpKind::Convert, "to(bool)", [](const Tensor &x) { return x.to(DType::Bool); },
       [](double x) { return x != 0 ? 1.0 : 0.0; }, kReals, all, bool_result},
      {OpKind::Convert, "contiguous", [](const Tensor &x) { return x.contiguous(); },
       [](double x) { return x; }, kReals, all, same_dtype},
  };
}

// Conversions whose expected values are spelled out per target type, not via make().
void add_convert_cases(std::vector<OpCase> &cases) {
  auto to = [](DType d) { return [d](const std::vector<Tensor> &in) { return in[0].to(d); }; };
  constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();
  constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
  constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
  constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
  const std::vector<float> f32_in = {-2.7f,  -0.5f, 0.5f,     2.7f,     1e10f,
                                     -1e10f, NAN,   INFINITY, -INFINITY};
  cases.push_back({OpKind::Convert,
                   "f32 to i32 truncates toward zero, saturates, NaN becomes 0",
                   to(DType::I32),
                   {from_vector(f32_in)},
                   from_vector<int32_t>({-2, 0, 0, 2, kI32Max, kI32Min, 0, kI32Max, kI32Min}),
                   {}});
  cases.push_back({OpKind::Convert,
                   "f64 to i64 truncates and saturates",
                   to(DType::I64),
                   {from_vector<double>({3.9, -3.9, 1e19, -1e19, kNan, 9007199254740993.0})},
                   from_vector<int64_t>({3, -3, kI64Max, kI64Min, 0, 9007199254740992}),
                   {}});
  cases.push_back({OpKind::Convert,
                   "f32 to bool: nonzero and NaN are true",
                   to(DType::Bool),
                   {from_vector<float>({0.0f, -0.0f, 1e-30f, NAN, -INFINITY})},
                   from_vector<bool>({false, false, true, true, true}),
                   {}});
  cases.push_back({OpKind::Convert,
                   "i64 to i32 wraps",
                   to(DType::I32),
                   {from_vector<int64_t>({(int64_t{1} << 32) + 5, -1, int64_t{1} << 31})},
                   from_vector<int32_t>({5, -1, kI32Min}),
                   {}});
  cases.push_back({OpKind::Convert,
                   "i64 to f32 rounds to nearest even",
                   to(DType::F32),
                   {from_vector<int64_t>({16777217, 16777219, -16777217})},
                   from_vector<float>({16777216.0f, 16777220.0f, -16777216.0f}),
                   {}});
  cases.push_back({OpKind::Convert,
                   "f64 to f32 rounds and overflows to inf",
                   to(DType::F32),
                   {from_vector<double>({0.1, 1e300, -1e300, 1e-50})},
                   from_vector<float>({0.1f, INFINITY, -INFINITY, 0.0f}),
                   {}});
  cases.push_back(
      {OpKind::Convert,
       "bool to i32 and f32",
       [](const std::vector<Tensor> &in) { return in[0].to(DType::I32).to(DType::F32); },
       {from_vector<bool>({true, false, true})},
       from_vector<float>({1, 0, 1}),
       {}});
  cases.push_back(
      {OpKind::Convert,
       "transposed f32 [2,3] to i64",
       to(DType::I64),
       {from_vector<float>({1.5f, -2.5f, 3.5f, -4.5f, 5.5f, -6.5f}, Shape{3, 2}).transpose(0, 1)},
       from_vector<int64_t>({1, 3, 5, -2, -4, -6}, Shape{2, 3}),
       {}});
}

std::vector<OpCase> special_cases() {
  std::vector<OpCase> c;
  const double i = kInf, n = kNan;
  add_special(c, OpKind::Exp, "exp", [](const Tensor &x) { return exp(x); },
              {i, -i, n, 0, -1000, 1000}, {i, 0, n, 1, 0, i});
  add_special(c, OpKind::Log, "log", [](const Tensor &x) { return log(x); }, {0, -1, i, n, 1},
              {-i, n, i, n, 0});
  add_special(c, OpKind::Log1p, "log1p", [](const Tensor &x) { return log1p(x); }, {-1, -2, i, n},
              {-i, n, i, n});
  add_special(c, OpKind::Expm1, "expm1", [](const Tensor &x) { return expm1(x); }, {i, -i, n},
              {i, -1, n});
  add_special(c, OpKind::Sqrt, "sqrt", [](const Tensor &x) { return sqrt(x); }, {-1, i, n, 0},
              {n, i, n, 0});
  add_special(c, OpKind::Rsqrt, "rsqrt", [](const Tensor &x) { return rsqrt(x); }, {0, -1, i, n},
              {i, n, 0, n});
  add_special(c, OpKind::Sin, "sin", [](const Tensor &x) { return sin(x); }, {i, n, 0}, {n, n, 0});
  add_special(c, OpKind::Cos, "cos", [](const Tensor &x) { return cos(x); }, {-i, n, 0}, {n, n, 1});
  add_special(c, OpKind::Tanh, "tanh", [](const Tensor &x) { return tanh(x); },
              {i, -i, n, 0, 100, -100}, {1, -1, n, 0, 1, -1});
  add_special(c, OpKind::Sigmoid, "sigmoid", [](const Tensor &x) { return sigmoid(x); },
              {i, -i, n, 0}, {1, 0, n, 0.5});
  add_special(c, OpKind::Relu, "relu", [](const Tensor &x) { return relu(x); }, {i, -i, n},
              {i, 0, n});
  add_special(c, OpKind::Gelu, "gelu", [](const Tensor &x) { return gelu(x); }, {i, n, 0},
              {i, n, 0});
  add_special(c, OpKind::Gelu, "gelu tanh", [](const Tensor &x) { return gelu(x, "tanh"); },
              {i, n, 0}, {i, n, 0});
  add_special(c, OpKind::Silu, "silu", [](const Tensor &x) { return silu(x); }, {i, n, 0},
              {i, n, 0});
  add_special(c, OpKind::Erf, "erf", [](const Tensor &x) { return erf(x); }, {i, -i, n, 0, 10},
              {1, -1, n, 0, 1});
  add_special(c, OpKind::Reciprocal, "reciprocal", [](const Tensor &x) { return reciprocal(x); },
              {0, i, -i, n}, {i, 0, -0.0, n});
  add_special(c, OpKind::Abs, "abs", [](const Tensor &x) { return abs(x); }, {-i, n, -0.0},
              {i, n, 0});
  add_special(c, OpKind::Neg, "neg", [](const Tensor &x) { return neg(x); }, {i, n}, {-i, n});
  add_special(c, OpKind::Floor, "floor", [](const Tensor &x) { return floor(x); }, {i, -i, n, -0.5},
              {i, -i, n, -1});
  add_special(c, OpKind::Ceil, "ceil", [](const Tensor &x) { return ceil(x); }, {i, -i, n, -0.5},
              {i, -i, n, 0});
  add_special(c, OpKind::Round, "round half to even", [](const Tensor &x) { return round(x); },
              {0.5, 1.5, 2.5, -0.5, -2.5, 3.5, i, n}, {0, 2, 2, 0, -2, 4, i, n});
  add_special(c, OpKind::Sign, "sign", [](const Tensor &x) { return sign(x); }, {i, -i, n, 0, -3},
              {1, -1, n, 0, -1});
  add_special(c, OpKind::Clamp, "clamp keeps NaN", [](const Tensor &x) { return clamp(x, 0, 1); },
              {n, i, -i}, {n, 1, 0});
  return c;
}

}  // namespace

std::vector<OpCase> unary_cases() {
  std::vector<OpCase> cases;
  for (const Unary &u : unary_table()) add_layout_cases(cases, u);
  for (OpCase &c : special_cases()) cases.push_back(std::move(c));
  add_convert_cases(cases);

  const Tolerance fast{1e-6, 1e-5};
  add_wide_cases(
      cases, OpKind::Exp, "exp", [](const Tensor &x) { return exp(x); },
      [](double x) { return std::exp(x); }, -20, 20, fast);
  add_wide_cases(
      cases, OpKind::Exp, "exp (relative only)", [](const Tensor &x) { return exp(x); },
      [](double x) { return std::exp(x); }, -87, 88.5, {0, 1e-5});
  add_wide_cases(
      cases, OpKind::Exp, "exp near overflow (relative only)",
      [](const Tensor &x) { return exp(x); }, [](double x) { return std::exp(x); }, 80, 88.72,
      {0, 1e-5});
  add_wide_cases(
      cases, OpKind::Tanh, "tanh", [](const Tensor &x) { return tanh(x); },
      [](double x) { return std::tanh(x); }, -20, 20, fast);
  add_wide_cases(
      cases, OpKind::Tanh, "tanh near 0 (relative only)", [](const Tensor &x) { return tanh(x); },
      [](double x) { return std::tanh(x); }, -1, 1, {0, 1e-5});
  add_wide_cases(
      cases, OpKind::Erf, "erf", [](const Tensor &x) { return erf(x); },
      [](double x) { return std::erf(x); }, -20, 20, fast);
  add_wide_cases(
      cases, OpKind::Sigmoid, "sigmoid", [](const Tensor &x) { return sigmoid(x); }, sigmoid_ref,
      -20, 20, fast);
  add_wide_cases(cases, OpKind::Sigmoid, "sigmoid (relative only)",
                 [](const Tensor &x) { return sigmoid(x); }, sigmoid_ref, -80, 20, {0, 1e-5});
  add_wide_cases(
      cases, OpKind::Silu, "silu", [](const Tensor &x) { return silu(x); },
      [](double x) { return x * sigmoid_ref(x); }, -20, 20, fast);
  add_wide_cases(
      cases, OpKind::Gelu, "gelu", [](const Tensor &x) { return gelu(x); }, gelu_erf, -20, 20,
      fast);
  add_wide_cases(
      cases, OpKind::Gelu, "gelu tanh", [](const Tensor &x) { return gelu(x, "tanh"); }, gelu_tanh,
      -20, 20, fast);

  cases.push_back({OpKind::Clamp,
                   "clamp of i32 with a float bound promotes to f32",
                   [](const std::vector<Tensor> &in) { return clamp(in[0], 0.5, 2); },
                   {from_vector<int32_t>({-3, 1, 5})},
                   from_vector<float>({0.5f, 1, 2}),
                   {}});
  cases.push_back({OpKind::Clamp,
                   "clamp with one bound lets infinities through (found by the fuzzer)",
                   [](const std::vector<Tensor> &in) {
                     return cat({clamp(in[0], 0.25), clamp(in[0], {}, 0.25)}, 0);
                   },
                   {from_vector<float>({INFINITY, -INFINITY})},
                   from_vector<float>({INFINITY, 0.25f, 0.25f, -INFINITY}),
                   {}});
  cases.push_back({OpKind::Clamp,
                   "clamp with min > max gives max",
                   [](const std::vector<Tensor> &in) { return clamp(in[0], 3, 1); },
                   {from_vector<float>({0, 2, 5})},
                   from_vector<float>({1, 1, 1}),
                   {}});
  cases.push_back({OpKind::Clamp,
                   "clamp of bool with int bounds computes in i64",
                   [](const std::vector<Tensor> &in) { return clamp(in[0], 0, 1); },
                   {from_vector<bool>({true, false})},
                   from_vector<int64_t>({1, 0}),
                   {}});
  constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
  const int64_t big = (int64_t{1} << 62) + 1;
  cases.push_back({OpKind::LogicalNot,
                   "logical_not of NaN, zeros and inf",
                   [](const std::vector<Tensor> &in) { return logical_not(in[0]); },
                   {from_vector<float>({NAN, 0.0f, -0.0f, INFINITY})},
                   from_vector<bool>({false, true, true, false}),
                   {}});
  cases.push_back({OpKind::Clamp,
                   "clamp of i64 with max = i64 max changes nothing",
                   [=](const std::vector<Tensor> &in) { return clamp(in[0], {}, kI64Max); },
                   {from_vector<int64_t>({1, -5, kI64Max})},
                   from_vector<int64_t>({1, -5, kI64Max}),
                   {}});
  cases.push_back({OpKind::Clamp,
                   "clamp of i64 to a bound above 2^53 is exact",
                   [=](const std::vector<Tensor> &in) { return clamp(in[0], big); },
                   {from_vector<int64_t>({big + 4, 0})},
                   from_vector<int64_t>({big + 4, big}),
                   {}});
  cases.push_back(
      {OpKind::Clamp,
       "clamp of i32 with a max beyond i32 changes nothing",
       [](const std::vector<Tensor> &in) { return clamp(in[0], {}, int64_t{3000000000}); },
       {from_vector<int32_t>({1, -2})},
       from_vector<int32_t>({1, -2}),
       {}});
  cases.push_back({OpKind::Abs,
                   "abs of i32 min wraps like two's complement",
                   [](const std::vector<Tensor> &in) { return abs(in[0]); },
                   {from_vector<int32_t>({std::numeric_limits<int32_t>::min(), -7})},
                   from_vector<int32_t>({std::numeric_limits<int32_t>::min(), 7}),
                   {}});
  return cases;
}

std::vector<OpErrorCase> unary_errors() {
  std::vector<OpErrorCase> errors;
  const Tensor b = from_vector<bool>({true, false});
  struct Named {
    OpKind op;
    const char *name;
    UnaryFn fn;
  };
  const std::vector<Named> all = {
      {OpKind::Neg, "neg", [](const Tensor &x) { return neg(x); }},
      {OpKind::Abs, "abs", [](const Tensor &x) { return abs(x); }},
      {OpKind::Exp, "exp", [](const Tensor &x) { return exp(x); }},
      {OpKind::Log, "log", [](const Tensor &x) { return log(x); }},
      {OpKind::Log1p, "log1p", [](const Tensor &x) { return log1p(x); }},
      {OpKind::Expm1, "expm1", [](const Tensor &x) { return expm1(x); }},
      {OpKind::Sqrt, "sqrt", [](const Tensor &x) { return sqrt(x); }},
      {OpKind::Rsqrt, "rsqrt", [](const Tensor &x) { return rsqrt(x); }},
      {OpKind::Sin, "sin", [](const Tensor &x) { return sin(x); }},
      {OpKind::Cos, "cos", [](const Tensor &x) { return cos(x); }},
      {OpKind::Tanh, "tanh", [](const Tensor &x) { return tanh(x); }},
      {OpKind::Sigmoid, "sigmoid", [](const Tensor &x) { return sigmoid(x); }},
      {OpKind::Relu, "relu", [](const Tensor &x) { return relu(x); }},
      {OpKind::Gelu, "gelu", [](const Tensor &x) { return gelu(x); }},
      {OpKind::Silu, "silu", [](const Tensor &x) { return silu(x); }},
      {OpKind::Erf, "erf", [](const Tensor &x) { return erf(x); }},
      {OpKind::Reciprocal, "reciprocal", [](const Tensor &x) { return reciprocal(x); }},
      {OpKind::Floor, "floor", [](const Tensor &x) { return floor(x); }},
      {OpKind::Ceil, "ceil", [](const Tensor &x) { return ceil(x); }},
      {OpKind::Round, "round", [](const Tensor &x) { return round(x); }},
      {OpKind::Sign, "sign", [](const Tensor &x) { return sign(x); }},
      {OpKind::LogicalNot, "logical_not", [](const Tensor &x) { return logical_not(x); }},
  };
  for (const Named &u : all)
    errors.push_back({u.op, fmt::format("{} of an undefined tensor", u.name),
                      [fn = u.fn] { (void)fn(Tensor()); },
                      fmt::format("{}: argument 0 is an undefined tensor", u.name)});
  for (const Named &u : all) {
    if (u.op != OpKind::Neg && u.op != OpKind::Abs && u.op != OpKind::Relu &&
        u.op != OpKind::Floor && u.op != OpKind::Ceil && u.op != OpKind::Round &&
        u.op != OpKind::Sign)
      continue;
    errors.push_back({u.op, fmt::format("{} of a bool tensor", u.name),
                      [fn = u.fn, b] { (void)fn(b); },
                      fmt::format("{}: input must be a numeric tensor, got bool", u.name)});
  }
  const Tensor x = from_vector<float>({1, 2});
  errors.push_back({OpKind::Gelu, "gelu with an unknown approximation",
                    [x] { (void)gelu(x, "fast"); },
                    "gelu: approximate must be 'none' or 'tanh', got 'fast'"});
  errors.push_back({OpKind::Clamp, "clamp with neither bound", [x] { (void)clamp(x, {}, {}); },
                    "clamp: at least one of 'min' and 'max' must be given"});
  errors.push_back({OpKind::Clamp, "clamp of a bool tensor with neither bound",
                    [b] { (void)clamp(b, {}, {}); },
                    "clamp: input must be a numeric tensor, got bool"});
  errors.push_back({OpKind::Clamp, "clamp of an undefined tensor",
                    [] { (void)clamp(Tensor(), 0, 1); },
                    "clamp: argument 0 is an undefined tensor"});
  errors.push_back({OpKind::Convert, "to of an undefined tensor",
                    [] { (void)Tensor().to(DType::F32); },
                    "to: argument 0 is an undefined tensor"});
  errors.push_back({OpKind::Convert, "contiguous of an undefined tensor",
                    [] { (void)contiguous(Tensor()); },
                    "contiguous: argument 0 is an undefined tensor"});
  return errors;
}

}  // namespace kiln::test
