// Value and error cases for the two- and three-operand elementwise ops. References broadcast
// the input values by index arithmetic written here and apply the op in double, then round
// to the result dtype, so kernels, promotion and broadcasting are checked independently.
#include <cmath>
#include <limits>

#include "op_cases.h"

namespace kiln::test {
namespace {

using BinaryFn = std::function<Tensor(const Tensor &, const Tensor &)>;
using BinaryRef = std::function<double(double, double)>;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// 24 values each, laid out as [4, 6]. kC shares values and zeros with kA so comparisons
// and logical ops see both outcomes; kNonzero stays nonzero after truncation to integers.
const std::vector<double> kA = {-3.5,  -2, -1.5, -1, -0.5, 0,    0.5,   1,   1.5, 2,   2.5,  3,
                                -4.25, 5,  6.5,  -7, 8,    0.25, -0.75, 9.5, 10,  -11, 12.5, 0};
const std::vector<double> kC = {-3.5, 0, -1.5, 2,  -0.5, 0,     1, 1,   -1.5, 2,   0, 3,
                                4,    5, 0,    -7, 8,    -0.25, 0, 9.5, -10,  -11, 0, 1};
const std::vector<double> kNonzero = {1.5,   -2, 3.25, -1,   2, 4.5, -3, 1, 7,   -5.5, 2.5, 1.25,
                                      -2.75, 3,  6,    -1.5, 2, 9,   -4, 1, 5.5, -8,   3,   2};
const std::vector<double> kBase = {0.5, 1, 1.5, 2,    2.5, 3, 0, 4,    -2, -1, 1.25, 0.75,
                                   3,   2, -3,  0.25, 5,   7, 1, -1.5, 2,  10, 0.1,  6};
const std::vector<double> kExponent = {0, 1, 2, 3,   0.5, 1.5, 2, 1, 3,   2, 0, 1,
                                       2, 4, 3, 0.5, 2,   1,   5, 2, 2.5, 3, 1, 0};

// The row-major values of t broadcast to `shape`, by index arithmetic.
std::vector<double> broadcast_values(const Tensor &t, const Shape &shape) {
  std::vector<double> v = t.tolist<double>(), out(static_cast<size_t>(numel(shape)));
  const Shape &s = t.sizes();
  const size_t lead = shape.size() - s.size();
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t rem = static_cast<int64_t>(i), src = 0, stride = 1;
    for (size_t d = shape.size(); d-- > lead;) {
      int64_t index = rem % shape[d];
      rem /= shape[d];
      if (s[d - lead] != 1) src += index * stride;
      stride *= s[d - lead];
    }
    out[i] = v[static_cast<size_t>(src)];
  }
  return out;
}

Shape broadcast_shape(const std::vector<Tensor> &ts) {
  Shape out;
  for (const Tensor &t : ts) {
    Shape s = t.sizes();
    if (s.size() > out.size()) out.insert(out.begin(), s.size() - out.size(), 1);
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t &o = out[out.size() - s.size() + i];
      if (o == 1) o = s[i];
    }
  }
  return out;
}

// Values rounded to dtype, as the kernel sees them after promotion.
std::vector<double> as_dtype(const std::vector<double> &v, DType d) {
  return make(v, {static_cast<int64_t>(v.size())}, d).tolist<double>();
}

Tensor reference(const Tensor &a, const Tensor &b, const BinaryRef &ref, DType compute, DType out) {
  Shape shape = broadcast_shape({a, b});
  std::vector<double> x = as_dtype(broadcast_values(a, shape), compute);
  std::vector<double> y = as_dtype(broadcast_values(b, shape), compute);
  for (size_t i = 0; i < x.size(); ++i) x[i] = ref(x[i], y[i]);
  return make(x, shape, out);
}

enum class Result { Promoted, Real, Bool };  // add, div, eq

struct Binary {
  OpKind op;
  std::string name;
  BinaryFn fn;
  BinaryRef ref;
  const std::vector<double> &a, &b;
  std::vector<DType> dtypes;
  Result result;
};

DType result_dtype(Result r, DType compute) {
  if (r == Result::Bool) return DType::Bool;
  if (r == Result::Real && !is_floating(compute)) return DType::F32;
  return compute;
}

// Operand pairs of one dtype in every layout, then mixed dtypes that promote.
void add_binary_cases(std::vector<OpCase> &cases, const Binary &op) {
  auto push = [&](const std::string &what, DType da, DType db, Tensor a, Tensor b) {
    DType compute =
        op.result == Result::Bool && (op.op == OpKind::LogicalAnd || op.op == OpKind::LogicalOr)
            ? DType::Bool
            : promote_types(da, db);
    Tensor want = reference(a, b, op.ref, compute, result_dtype(op.result, compute));
    cases.push_back({op.op,
                     fmt::format("{} {} {} {}", op.name, dtype_name(da), dtype_name(db), what),
                     [fn = op.fn](const std::vector<Tensor> &in) { return fn(in[0], in[1]); },
                     {a, b},
                     want,
                     default_tolerance(want.dtype())});
  };
  const std::vector<double> &va = op.a, &vb = op.b;
  auto head = [](const std::vector<double> &v, size_t n) {
    return std::vector<double>(v.begin(), v.begin() + n);
  };
  for (DType d : op.dtypes) {
    std::vector<double> wide(48, va[0]);
    for (size_t i = 0; i < va.size(); ++i) wide[(i / 6) * 12 + (i % 6) * 2] = va[i];
    Tensor a = make(va, {4, 6}, d), b = make(vb, {4, 6}, d);
    push("contiguous [4,6]", d, d, a, b);
    push("both transposed", d, d, make(va, {6, 4}, d).transpose(0, 1),
         make(vb, {6, 4}, d).transpose(0, 1));
    push("step-sliced with expanded [1,6]", d, d, make(wide, {4, 12}, d).slice(1, 0, 12, 2),
         make(head(vb, 6), {1, 6}, d).expand({4, 6}));
    push("as_strided_copy with contiguous", d, d, as_strided_copy(a), b);
    push("broadcast [3,1] with [4]", d, d, make(head(va, 3), {3, 1}, d), make(head(vb, 4), {4}, d));
    push("broadcast 0-dim with [4,6]", d, d, make({va[9]}, {}, d), b);
    push("broadcast [4,6] with [1]", d, d, a, make({vb[7]}, {1}, d));
    push("0-size [0,3] with [3]", d, d, make({}, {0, 3}, d), make(head(vb, 3), {3}, d));
    push("0-dim with 0-dim", d, d, make({va[12]}, {}, d), make({vb[12]}, {}, d));
  }
  const std::pair<DType, DType> mixed[] = {{DType::I32, DType::F32},
                                           {DType::F64, DType::I64},
                                           {DType::Bool, DType::I32},
                                           {DType::I32, DType::I64},
                                           {DType::F32, DType::F64}};
  for (auto [da, db] : mixed) {
    if (op.op == OpKind::Pow && (da == DType::Bool || db == DType::Bool)) continue;
    if (op.op == OpKind::Fmod && (da == DType::Bool || db == DType::Bool)) continue;
    push("contiguous", da, db, make(va, {4, 6}, da), make(vb, {4, 6}, db));
    push("broadcast [4,1] with transposed [4,6]", da, db,
         make(std::vector<double>(va.begin(), va.begin() + 4), {4, 1}, da),
         make(vb, {6, 4}, db).transpose(0, 1));
  }
}

std::vector<Binary> binary_table() {
  const std::vector<DType> all = {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool};
  const std::vector<DType> numeric = {DType::F32, DType::F64, DType::I32, DType::I64};
  auto ref_eq = [](double x, double y) { return double(x == y); };
  auto ref_lt = [](double x, double y) { return double(x < y); };
  auto ref_max = [](double x, double y) {
    return std::isnan(x) || std::isnan(y) ? kNan : std::max(x, y);
  };
  auto ref_min = [](double x, double y) {
    return std::isnan(x) || std::isnan(y) ? kNan : std::min(x, y);
  };
  auto ref_add = [](double x, double y) { return x + y; };
  auto ref_sub = [](double x, double y) { return x - y; };
  auto ref_mul = [](double x, double y) { return x * y; };
  auto ref_div = [](double x, double y) { return x / y; };
  using T = const Tensor &;
  return {
      {OpKind::Add, "add", [](T a, T b) { return add(a, b); }, ref_add, kA, kC, all,
       Result::Promoted},
      {OpKind::Add, "operator+", [](T a, T b) { return a + b; }, ref_add, kA, kC, all,
       Result::Promoted},
      {OpKind::Sub, "sub", [](T a, T b) { return sub(a, b); }, ref_sub, kA, kC, numeric,
       Result::Promoted},
      {OpKind::Sub, "operator-", [](T a, T b) { return a - b; }, ref_sub, kA, kC, numeric,
       Result::Promoted},
      {OpKind::Mul, "mul", [](T a, T b) { return mul(a, b); }, ref_mul, kA, kC, all,
       Result::Promoted},
      {OpKind::Mul, "operator*", [](T a, T b) { return a * b; }, ref_mul, kA, kC, all,
       Result::Promoted},
      {OpKind::Div, "div", [](T a, T b) { return div(a, b); }, ref_div, kA, kNonzero, all,
       Result::Real},
      {OpKind::Div, "operator/", [](T a, T b) { return a / b; }, ref_div, kA, kNonzero, all,
       Result::Real},
      {OpKind::Div, "div by zero", [](T a, T b) { return div(a, b); }, ref_div, kA, kC, all,
       Result::Real},
      {OpKind::Pow, "pow", [](T a, T b) { return pow(a, b); },
       [](double x, double y) { return std::pow(x, y); }, kBase, kExponent, numeric,
       Result::Promoted},
      {OpKind::Maximum, "maximum", [](T a, T b) { return maximum(a, b); }, ref_max, kA, kC, all,
       Result::Promoted},
      {OpKind::Minimum, "minimum", [](T a, T b) { return minimum(a, b); }, ref_min, kA, kC, all,
       Result::Promoted},
      {OpKind::Fmod, "fmod", [](T a, T b) { return fmod(a, b); },
       [](double x, double y) { return std::fmod(x, y); }, kA, kNonzero, numeric, Result::Promoted},
      {OpKind::Eq, "eq", [](T a, T b) { return eq(a, b); }, ref_eq, kA, kC, all, Result::Bool},
      {OpKind::Eq, "operator==", [](T a, T b) { return a == b; }, ref_eq, kA, kC, all,
       Result::Bool},
      {OpKind::Ne, "ne", [](T a, T b) { return ne(a, b); },
       [](double x, double y) { return double(x != y); }, kA, kC, all, Result::Bool},
      {OpKind::Ne, "operator!=", [](T a, T b) { return a != b; },
       [](double x, double y) { return double(x != y); }, kA, kC, all, Result::Bool},
      {OpKind::Lt, "lt", [](T a, T b) { return lt(a, b); }, ref_lt, kA, kC, all, Result::Bool},
      {OpKind::Lt, "operator<", [](T a, T b) { return a < b; }, ref_lt, kA, kC, all, Result::Bool},
      {OpKind::Le, "le", [](T a, T b) { return le(a, b); },
       [](double x, double y) { return double(x <= y); }, kA, kC, all, Result::Bool},
      {OpKind::Le, "operator<=", [](T a, T b) { return a <= b; },
       [](double x, double y) { return double(x <= y); }, kA, kC, all, Result::Bool},
      {OpKind::Gt, "gt", [](T a, T b) { return gt(a, b); },
       [](double x, double y) { return double(x > y); }, kA, kC, all, Result::Bool},
      {OpKind::Gt, "operator>", [](T a, T b) { return a > b; },
       [](double x, double y) { return double(x > y); }, kA, kC, all, Result::Bool},
      {OpKind::Ge, "ge", [](T a, T b) { return ge(a, b); },
       [](double x, double y) { return double(x >= y); }, kA, kC, all, Result::Bool},
      {OpKind::Ge, "operator>=", [](T a, T b) { return a >= b; },
       [](double x, double y) { return double(x >= y); }, kA, kC, all, Result::Bool},
      {OpKind::LogicalAnd, "logical_and", [](T a, T b) { return logical_and(a, b); },
       [](double x, double y) { return double(x != 0 && y != 0); }, kA, kC, all, Result::Bool},
      {OpKind::LogicalAnd, "operator&", [](T a, T b) { return a & b; },
       [](double x, double y) { return double(x != 0 && y != 0); }, kA, kC, all, Result::Bool},
      {OpKind::LogicalOr, "logical_or", [](T a, T b) { return logical_or(a, b); },
       [](double x, double y) { return double(x != 0 || y != 0); }, kA, kC, all, Result::Bool},
      {OpKind::LogicalOr, "operator|", [](T a, T b) { return a | b; },
       [](double x, double y) { return double(x != 0 || y != 0); }, kA, kC, all, Result::Bool},
  };
}

// base ** exp in unsigned 64-bit arithmetic, read back as two's complement.
int64_t wrapped_pow(uint64_t base, int exp) {
  uint64_t r = 1;
  for (int i = 0; i < exp; ++i) r *= base;
  return static_cast<int64_t>(r);
}

// Hand-written values for what the generated cases cannot show: NaN and inf, wrapping,
// integer semantics and tensor-scalar promotion.
OpCase hand(OpKind op, std::string name, BinaryFn fn, Tensor a, Tensor b, Tensor want) {
  return {op,
          std::move(name),
          [fn](const std::vector<Tensor> &in) { return fn(in[0], in[1]); },
          {std::move(a), std::move(b)},
          std::move(want),
          {0, 0}};
}

// Tensor-scalar forms: fn(x) uses a scalar; the result dtype is stated, the values come
// from ref applied to x and the scalar rounded to that compute dtype.
OpCase scalar_case(OpKind op, std::string name, std::function<Tensor(const Tensor &)> fn, Tensor x,
                   double s, DType compute, DType out, const BinaryRef &ref) {
  Tensor want = reference(x, make({s}, {}, compute), ref, compute, out);
  return {
      op,   std::move(name),       [fn](const std::vector<Tensor> &in) { return fn(in[0]); }, {x},
      want, default_tolerance(out)};
}

void add_special_cases(std::vector<OpCase> &c) {
  using T = const Tensor &;
  const double i = kInf, n = kNan;
  auto f = [](std::vector<double> v) { return make(v, {static_cast<int64_t>(v.size())}); };
  auto bools = [](std::vector<double> v) {
    return make(v, {static_cast<int64_t>(v.size())}, DType::Bool);
  };
  c.push_back(hand(
      OpKind::Maximum, "maximum propagates NaN from either side",
      [](T a, T b) { return maximum(a, b); }, f({n, 1, n, -i, i}), f({1, n, n, 3, 2}),
      f({n, n, n, 3, i})));
  c.push_back(hand(
      OpKind::Minimum, "minimum propagates NaN from either side",
      [](T a, T b) { return minimum(a, b); }, f({n, 1, n, -i, i}), f({1, n, n, 3, 2}),
      f({n, n, n, -i, 2})));
  c.push_back(hand(
      OpKind::Add, "add inf and NaN", [](T a, T b) { return a + b; }, f({i, i, n, 1}),
      f({1, -i, 1, -i}), f({i, n, n, -i})));
  c.push_back(hand(
      OpKind::Sub, "sub inf", [](T a, T b) { return a - b; }, f({i, i, 0}), f({i, 1, n}),
      f({n, i, n})));
  c.push_back(hand(
      OpKind::Mul, "mul inf by zero is NaN", [](T a, T b) { return a * b; }, f({i, i, -2}),
      f({0, -2, i}), f({n, -i, -i})));
  c.push_back(hand(
      OpKind::Div, "div by zero and inf", [](T a, T b) { return a / b; }, f({1, -1, 0, i, 1}),
      f({0, 0, 0, i, i}), f({i, -i, n, n, 0})));
  c.push_back(hand(
      OpKind::Div, "i64 / i64 is true division in f32", [](T a, T b) { return a / b; },
      from_vector<int64_t>({7, -7, 1, 0}), from_vector<int64_t>({2, 2, 3, 0}),
      from_vector<float>({3.5f, -3.5f, 1.0f / 3.0f, NAN})));
  c.push_back(hand(
      OpKind::Pow, "pow with NaN and negative exponents", [](T a, T b) { return pow(a, b); },
      f({n, 1, 2, 0, -8, 4}), f({0, n, -1, -1, 1.0 / 3, -0.5}), f({1, 1, 0.5, i, n, 0.5})));
  c.push_back(hand(
      OpKind::Pow, "i32 pow: 1 and -1 to negative powers", [](T a, T b) { return pow(a, b); },
      from_vector<int32_t>({1, -1, -1, 3}), from_vector<int32_t>({-5, -3, -2, 4}),
      from_vector<int32_t>({1, -1, 1, 81})));
  c.push_back(hand(
      OpKind::Pow, "i64 pow wraps on overflow", [](T a, T b) { return pow(a, b); },
      from_vector<int64_t>({2, 3}), from_vector<int64_t>({64, 40}),
      from_vector<int64_t>({0, wrapped_pow(3, 40)})));
  c.push_back(hand(
      OpKind::Fmod, "fmod keeps the dividend's sign; inf and zero divisors",
      [](T a, T b) { return fmod(a, b); }, f({-7, 7, 5, i, 1}), f({3, -3, i, 2, 0}),
      f({-1, 1, 5, n, n})));
  c.push_back(hand(
      OpKind::Fmod, "i32 fmod truncates toward zero; min % -1 is 0",
      [](T a, T b) { return fmod(a, b); },
      from_vector<int32_t>({-7, 7, std::numeric_limits<int32_t>::min(), 9}),
      from_vector<int32_t>({3, -3, -1, 4}), from_vector<int32_t>({-1, 1, 0, 1})));
  c.push_back(hand(
      OpKind::Add, "i32 add wraps", [](T a, T b) { return a + b; },
      from_vector<int32_t>({std::numeric_limits<int32_t>::max()}), from_vector<int32_t>({1}),
      from_vector<int32_t>({std::numeric_limits<int32_t>::min()})));
  c.push_back(hand(
      OpKind::Mul, "i64 mul wraps", [](T a, T b) { return a * b; },
      from_vector<int64_t>({int64_t{1} << 62}), from_vector<int64_t>({4}),
      from_vector<int64_t>({0})));
  c.push_back(hand(
      OpKind::Add, "bool + bool is logical or", [](T a, T b) { return a + b; }, bools({1, 1, 0, 0}),
      bools({1, 0, 1, 0}), bools({1, 1, 1, 0})));
  c.push_back(hand(
      OpKind::Mul, "bool * bool is logical and", [](T a, T b) { return a * b; },
      bools({1, 1, 0, 0}), bools({1, 0, 1, 0}), bools({1, 0, 0, 0})));
  c.push_back(hand(
      OpKind::Eq, "NaN compares unequal to everything", [](T a, T b) { return a == b; },
      f({n, n, 1}), f({n, 1, 1}), bools({0, 0, 1})));
  c.push_back(hand(
      OpKind::Ne, "NaN != NaN", [](T a, T b) { return a != b; }, f({n, 1}), f({n, 1}),
      bools({1, 0})));
  c.push_back(hand(
      OpKind::Lt, "NaN < x is false, -inf < inf", [](T a, T b) { return a < b; }, f({n, -i}),
      f({1, i}), bools({0, 1})));
  c.push_back(hand(
      OpKind::Le, "NaN <= NaN is false", [](T a, T b) { return a <= b; }, f({n, i}), f({n, i}),
      bools({0, 1})));
  c.push_back(hand(
      OpKind::Gt, "x > NaN is false", [](T a, T b) { return a > b; }, f({1, i}), f({n, 1}),
      bools({0, 1})));
  c.push_back(hand(
      OpKind::Ge, "NaN >= x is false", [](T a, T b) { return a >= b; }, f({n, -i}), f({1, -i}),
      bools({0, 1})));
  c.push_back(hand(
      OpKind::Eq, "i64 beyond 2^53 compares exactly", [](T a, T b) { return a == b; },
      from_vector<int64_t>({(int64_t{1} << 53) + 1}), from_vector<int64_t>({int64_t{1} << 53}),
      bools({0})));
  c.push_back(hand(
      OpKind::LogicalAnd, "NaN is true in logical_and", [](T a, T b) { return logical_and(a, b); },
      f({n, n, 0}), f({1, 0, n}), bools({1, 0, 0})));
  c.push_back(hand(
      OpKind::LogicalOr, "NaN is true in logical_or", [](T a, T b) { return logical_or(a, b); },
      f({n, 0, 0}), f({0, 0, -0.0}), bools({1, 0, 0})));
  // Large operands run the threaded chunks; broadcasting rows of a transposed operand.
  Tensor big = linspace(-50, 50, 100000).reshape({400, 250});
  Tensor row = linspace(1, 2, 250);
  for (auto [name, op, fn, ref] :
       {std::tuple{"mul", OpKind::Mul, BinaryFn([](T a, T b) { return a * b; }),
                   BinaryRef([](double x, double y) { return x * y; })},
        std::tuple{"div", OpKind::Div, BinaryFn([](T a, T b) { return a / b; }),
                   BinaryRef([](double x, double y) { return x / y; })}}) {
    c.push_back({op,
                 fmt::format("{} f32 [400,250] by broadcast row [250]", name),
                 [fn](const std::vector<Tensor> &in) { return fn(in[0], in[1]); },
                 {big, row},
                 reference(big, row, ref, DType::F32, DType::F32),
                 default_tolerance(DType::F32)});
    Tensor t = big.reshape({250, 400}).transpose(0, 1);
    Tensor col = linspace(1, 2, 400).reshape({400, 1});
    c.push_back({op,
                 fmt::format("{} f32 transposed [400,250] by broadcast column [400,1]", name),
                 [fn](const std::vector<Tensor> &in) { return fn(in[0], in[1]); },
                 {t, col},
                 reference(t, col, ref, DType::F32, DType::F32),
                 default_tolerance(DType::F32)});
  }
}

void add_scalar_cases(std::vector<OpCase> &c) {
  auto ref_add = [](double x, double y) { return x + y; };
  auto ref_sub = [](double x, double y) { return x - y; };
  auto ref_mul = [](double x, double y) { return x * y; };
  auto ref_div = [](double x, double y) { return x / y; };
  const Tensor f32 = make(kA, {4, 6}), f64 = make(kA, {4, 6}, DType::F64);
  const Tensor i32 = make(kA, {4, 6}, DType::I32), i64 = make(kA, {4, 6}, DType::I64);
  const Tensor b = make(kC, {4, 6}, DType::Bool), pos = make(kNonzero, {4, 6}, DType::I64);
  using DT = DType;
  c.push_back(scalar_case(
      OpKind::Mul, "f32 * 2 stays f32", [](const Tensor &x) { return x * 2; }, f32, 2, DT::F32,
      DT::F32, ref_mul));
  c.push_back(scalar_case(
      OpKind::Mul, "i64 * 2.5 is f32", [](const Tensor &x) { return x * 2.5; }, i64, 2.5, DT::F32,
      DT::F32, ref_mul));
  c.push_back(scalar_case(
      OpKind::Mul, "2 * i32 stays i32", [](const Tensor &x) { return 2 * x; }, i32, 2, DT::I32,
      DT::I32, ref_mul));
  c.push_back(scalar_case(
      OpKind::Add, "f32 + 0.1 rounds the scalar to f32", [](const Tensor &x) { return x + 0.1; },
      f32, 0.1, DT::F32, DT::F32, ref_add));
  c.push_back(scalar_case(
      OpKind::Add, "f64 + 0.1 keeps f64", [](const Tensor &x) { return add(x, 0.1); }, f64, 0.1,
      DT::F64, DT::F64, ref_add));
  c.push_back(scalar_case(
      OpKind::Add, "i32 + 1 stays i32", [](const Tensor &x) { return add(x, 1); }, i32, 1, DT::I32,
      DT::I32, ref_add));
  c.push_back(scalar_case(
      OpKind::Add, "bool + 1 is i64", [](const Tensor &x) { return x + 1; }, b, 1, DT::I64, DT::I64,
      ref_add));
  c.push_back(scalar_case(
      OpKind::Add, "1.5 + i32 is f32", [](const Tensor &x) { return 1.5 + x; }, i32, 1.5, DT::F32,
      DT::F32, ref_add));
  c.push_back(scalar_case(
      OpKind::Sub, "i64 - 3", [](const Tensor &x) { return sub(x, 3); }, i64, 3, DT::I64, DT::I64,
      ref_sub));
  c.push_back(scalar_case(
      OpKind::Sub, "f32 - 0.5", [](const Tensor &x) { return x - 0.5; }, f32, 0.5, DT::F32, DT::F32,
      ref_sub));
  c.push_back(scalar_case(
      OpKind::Sub, "10 - i32", [](const Tensor &x) { return 10 - x; }, i32, 10, DT::I32, DT::I32,
      [](double x, double s) { return s - x; }));
  c.push_back(scalar_case(
      OpKind::Div, "i32 / 2 is f32", [](const Tensor &x) { return x / 2; }, i32, 2, DT::F32,
      DT::F32, ref_div));
  c.push_back(scalar_case(
      OpKind::Div, "f64 / 4", [](const Tensor &x) { return div(x, 4); }, f64, 4, DT::F64, DT::F64,
      ref_div));
  c.push_back(scalar_case(
      OpKind::Div, "1 / i64 is f32", [](const Tensor &x) { return 1 / x; }, pos, 1, DT::F32,
      DT::F32, [](double x, double s) { return s / x; }));
  c.push_back(scalar_case(
      OpKind::Pow, "f32 ** 2 stays f32", [](const Tensor &x) { return pow(x, 2); }, f32, 2, DT::F32,
      DT::F32, [](double x, double y) { return std::pow(x, y); }));
  c.push_back(scalar_case(
      OpKind::Pow, "i64 ** 3 stays i64", [](const Tensor &x) { return pow(x, 3); }, i64, 3, DT::I64,
      DT::I64, [](double x, double y) { return std::pow(x, y); }));
  c.push_back(scalar_case(
      OpKind::Pow, "i32 ** 0.5 is f32", [](const Tensor &x) { return pow(x, 0.5); }, i32, 0.5,
      DT::F32, DT::F32, [](double x, double y) { return std::pow(x, y); }));
  c.push_back(scalar_case(
      OpKind::Maximum, "maximum(i32, 0)", [](const Tensor &x) { return maximum(x, 0); }, i32, 0,
      DT::I32, DT::I32, [](double x, double y) { return std::max(x, y); }));
  c.push_back(scalar_case(
      OpKind::Maximum, "maximum(f64, 0.5)", [](const Tensor &x) { return maximum(x, 0.5); }, f64,
      0.5, DT::F64, DT::F64, [](double x, double y) { return std::max(x, y); }));
  c.push_back(scalar_case(
      OpKind::Minimum, "minimum(f32, 1)", [](const Tensor &x) { return minimum(x, 1); }, f32, 1,
      DT::F32, DT::F32, [](double x, double y) { return std::min(x, y); }));
  c.push_back(scalar_case(
      OpKind::Minimum, "minimum(i64, 2.5) is f32", [](const Tensor &x) { return minimum(x, 2.5); },
      i64, 2.5, DT::F32, DT::F32, [](double x, double y) { return std::min(x, y); }));
  c.push_back(scalar_case(
      OpKind::Fmod, "fmod(f32, 2.5)", [](const Tensor &x) { return fmod(x, 2.5); }, f32, 2.5,
      DT::F32, DT::F32, [](double x, double y) { return std::fmod(x, y); }));
  c.push_back(scalar_case(
      OpKind::Fmod, "fmod(i32, 3)", [](const Tensor &x) { return fmod(x, 3); }, i32, 3, DT::I32,
      DT::I32, [](double x, double y) { return std::fmod(x, y); }));
  auto cmp = [&](OpKind op, const char *name, std::function<Tensor(const Tensor &)> fn,
                 const Tensor &x, double s, DType compute, BinaryRef ref) {
    c.push_back(scalar_case(op, name, std::move(fn), x, s, compute, DT::Bool, ref));
  };
  cmp(
      OpKind::Eq, "i32 == 2", [](const Tensor &x) { return x == 2; }, i32, 2, DT::I32,
      [](double x, double y) { return double(x == y); });
  cmp(
      OpKind::Ne, "f32 != 0.5", [](const Tensor &x) { return x != 0.5; }, f32, 0.5, DT::F32,
      [](double x, double y) { return double(x != y); });
  cmp(
      OpKind::Lt, "i64 < 1.5 compares in f32", [](const Tensor &x) { return x < 1.5; }, i64, 1.5,
      DT::F32, [](double x, double y) { return double(x < y); });
  cmp(
      OpKind::Le, "f64 <= 1", [](const Tensor &x) { return x <= 1; }, f64, 1, DT::F64,
      [](double x, double y) { return double(x <= y); });
  cmp(
      OpKind::Gt, "f32 > 0.1 uses f32(0.1)", [](const Tensor &x) { return x > 0.1; },
      make({0.1, 0.2, 0.05}, {3}), 0.1, DT::F32, [](double x, double y) { return double(x > y); });
  cmp(
      OpKind::Ge, "bool >= 1 compares in i64", [](const Tensor &x) { return x >= 1; }, b, 1,
      DT::I64, [](double x, double y) { return double(x >= y); });
}

void add_where_cases(std::vector<OpCase> &c) {
  auto where3 = [](const std::vector<Tensor> &in) { return where(in[0], in[1], in[2]); };
  auto push = [&](const std::string &name, Tensor cond, Tensor a, Tensor b) {
    Shape shape = broadcast_shape({cond, a, b});
    DType d = promote_types(a.dtype(), b.dtype());
    std::vector<double> k = broadcast_values(cond, shape), x = broadcast_values(a, shape),
                        y = broadcast_values(b, shape);
    for (size_t i = 0; i < x.size(); ++i) x[i] = k[i] != 0 ? x[i] : y[i];
    Tensor want = make(x, shape, d);
    c.push_back({OpKind::Where, "where " + name, where3, {cond, a, b}, want, default_tolerance(d)});
  };
  auto cond = [](const std::vector<double> &v, const Shape &s) { return make(v, s, DType::Bool); };
  for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool}) {
    std::string t(dtype_name(d));
    push(t + " contiguous [4,6]", cond(kC, {4, 6}), make(kA, {4, 6}, d), make(kNonzero, {4, 6}, d));
    push(t + " transposed condition and values", cond(kC, {6, 4}).transpose(0, 1),
         make(kA, {6, 4}, d).transpose(0, 1), as_strided_copy(make(kNonzero, {4, 6}, d)));
    push(t + " condition [3,1], values [4] and []", cond({1, 0, 1}, {3, 1}),
         make({1, 2, 3, 4}, {4}, d), make({-9}, {}, d));
    push(t + " expanded condition, step-sliced value",
         cond({1, 0, 0, 1, 1, 0}, {1, 6}).expand({2, 6}), make(kA, {4, 6}, d).slice(0, 0, 4, 2),
         make(kNonzero, {4, 6}, d).slice(0, 1, 4, 2));
    push(t + " 0-size", cond({}, {0, 3}), make({}, {0, 3}, d), make({1, 2, 3}, {3}, d));
    push(t + " 0-dim", cond({0}, {}), make({5}, {}, d), make({7}, {}, d));
  }
  push("i32 and f64 values promote to f64", cond({1, 0}, {2}), make({3, 4}, {2}, DType::I32),
       make({0.5, 1.5}, {2}, DType::F64));
  push("bool and i64 values promote to i64", cond({1, 0}, {2}), make({1, 0}, {2}, DType::Bool),
       make({5, 6}, {2}, DType::I64));
  std::vector<double> every_third(400);
  for (size_t i = 0; i < every_third.size(); ++i) every_third[i] = i % 3 == 0;
  push("f32 transposed [400,250], condition [400,1], value [250] (threaded)",
       cond(every_third, {400, 1}), linspace(-5, 5, 100000).reshape({250, 400}).transpose(0, 1),
       make(std::vector<double>(250, 0.5), {250}));
  push("NaN and inf pass through", cond({1, 0, 1}, {3}), make({kNan, 1, -kInf}, {3}),
       make({0, kInf, 0}, {3}));
  c.push_back({OpKind::Where,
               "where(cond, f32, 0) keeps f32",
               [](const std::vector<Tensor> &in) { return where(in[0], in[1], 0); },
               {cond({1, 0, 1}, {3}), make({1.5, 2.5, 3.5}, {3})},
               make({1.5, 0, 3.5}, {3}),
               {0, 0}});
  c.push_back({OpKind::Where,
               "where(cond, 2.5, i64) is f32",
               [](const std::vector<Tensor> &in) { return where(in[0], 2.5, in[1]); },
               {cond({1, 0, 1}, {3}), make({4, 5, 6}, {3}, DType::I64)},
               make({2.5, 5, 2.5}, {3}),
               {0, 0}});
  c.push_back({OpKind::Where,
               "where(cond, i32, 7) keeps i32",
               [](const std::vector<Tensor> &in) { return where(in[0], in[1], 7); },
               {cond({0, 1}, {2}), make({4, 5}, {2}, DType::I32)},
               make({7, 5}, {2}, DType::I32),
               {0, 0}});
}

}  // namespace

std::vector<OpCase> binary_cases() {
  std::vector<OpCase> cases;
  for (const Binary &op : binary_table()) add_binary_cases(cases, op);
  add_special_cases(cases);
  add_scalar_cases(cases);
  add_where_cases(cases);
  return cases;
}

std::vector<OpErrorCase> binary_errors() {
  std::vector<OpErrorCase> errors;
  using T = const Tensor &;
  const std::vector<std::tuple<OpKind, const char *, BinaryFn>> ops = {
      {OpKind::Add, "add", [](T a, T b) { return add(a, b); }},
      {OpKind::Sub, "sub", [](T a, T b) { return sub(a, b); }},
      {OpKind::Mul, "mul", [](T a, T b) { return mul(a, b); }},
      {OpKind::Div, "div", [](T a, T b) { return div(a, b); }},
      {OpKind::Pow, "pow", [](T a, T b) { return pow(a, b); }},
      {OpKind::Maximum, "maximum", [](T a, T b) { return maximum(a, b); }},
      {OpKind::Minimum, "minimum", [](T a, T b) { return minimum(a, b); }},
      {OpKind::Fmod, "fmod", [](T a, T b) { return fmod(a, b); }},
      {OpKind::Eq, "eq", [](T a, T b) { return eq(a, b); }},
      {OpKind::Ne, "ne", [](T a, T b) { return ne(a, b); }},
      {OpKind::Lt, "lt", [](T a, T b) { return lt(a, b); }},
      {OpKind::Le, "le", [](T a, T b) { return le(a, b); }},
      {OpKind::Gt, "gt", [](T a, T b) { return gt(a, b); }},
      {OpKind::Ge, "ge", [](T a, T b) { return ge(a, b); }},
      {OpKind::LogicalAnd, "logical_and", [](T a, T b) { return logical_and(a, b); }},
      {OpKind::LogicalOr, "logical_or", [](T a, T b) { return logical_or(a, b); }},
  };
  const Tensor x3 = make({1, 2, 3}, {3}), x4 = make({1, 2, 3, 4}, {4});
  for (const auto &[op, name, fn] : ops) {
    errors.push_back(
        {op, fmt::format("{} of shapes [3] and [4]", name), [fn, x3, x4] { (void)fn(x3, x4); },
         fmt::format("{}: shapes [3] and [4] cannot be broadcast together (dim 0: 3 vs 4)", name)});
    errors.push_back({op, fmt::format("{} with an undefined second argument", name),
                      [fn, x3] { (void)fn(x3, Tensor()); },
                      fmt::format("{}: argument 1 is an undefined tensor", name)});
    errors.push_back({op, fmt::format("{} with an undefined first argument", name),
                      [fn, x3] { (void)fn(Tensor(), x3); },
                      fmt::format("{}: argument 0 is an undefined tensor", name)});
  }
  errors.push_back({OpKind::Add, "add of [2,3] and [3,2]",
                    [] { (void)(zeros({2, 3}) + zeros({3, 2})); },
                    "add: shapes [2,3] and [3,2] cannot be broadcast together (dim 0: 2 vs 3)"});
  errors.push_back({OpKind::Mul, "mul of an undefined tensor by a scalar",
                    [] { (void)(Tensor() * 2); }, "mul: argument 0 is an undefined tensor"});
  errors.push_back({OpKind::Div, "div of an undefined tensor by a scalar",
                    [] { (void)(Tensor() / 2); }, "div: argument 0 is an undefined tensor"});
  const Tensor bools = from_vector<bool>({true, false});
  errors.push_back(
      {OpKind::Sub, "sub of two bool tensors", [bools] { (void)(bools - bools); },
       "sub: subtracting bool tensors is not supported\n  hint: use logical_xor semantics via "
       "ne(a, b), or convert to an integer dtype first"});
  errors.push_back(
      {OpKind::Sub, "bool tensor minus a bool scalar", [bools] { (void)(bools - true); },
       "sub: subtracting bool tensors is not supported\n  hint: use logical_xor semantics via "
       "ne(a, b), or convert to an integer dtype first"});
  errors.push_back({OpKind::Pow, "pow of bool tensors", [bools] { (void)pow(bools, bools); },
                    "pow: input must be a numeric tensor, got bool"});
  errors.push_back({OpKind::Fmod, "fmod of bool tensors", [bools] { (void)fmod(bools, bools); },
                    "fmod: input must be a numeric tensor, got bool"});
  errors.push_back({OpKind::Pow, "i64 pow with a negative exponent",
                    [] { (void)pow(from_vector<int64_t>({1, 2}), from_vector<int64_t>({-1, -1})); },
                    "pow: integers cannot be raised to negative integer powers (got 2 ** -1)"});
  errors.push_back({OpKind::Pow, "i32 tensor ** -2",
                    [] { (void)pow(from_vector<int32_t>({0, 3}), -2); },
                    "pow: integers cannot be raised to negative integer powers (got 0 ** -2)"});
  errors.push_back({OpKind::Fmod, "i32 fmod by zero",
                    [] { (void)fmod(from_vector<int32_t>({5, 6}), from_vector<int32_t>({1, 0})); },
                    "fmod: integer division by zero"});
  errors.push_back({OpKind::Fmod, "i64 tensor fmod 0",
                    [] { (void)fmod(from_vector<int64_t>({5}), 0); },
                    "fmod: integer division by zero"});
  const Tensor c = from_vector<bool>({true, false, true});
  errors.push_back({OpKind::Where, "where with an f32 condition", [x3] { (void)where(x3, x3, x3); },
                    "where: condition must be a bool tensor, got f32"});
  errors.push_back({OpKind::Where, "where with an i64 condition and a scalar",
                    [x3] { (void)where(from_vector<int64_t>({1, 0, 1}), x3, 0.0); },
                    "where: condition must be a bool tensor, got i64"});
  errors.push_back({OpKind::Where, "where of condition [3] and values [4]",
                    [c, x4] { (void)where(c, x4, x4); },
                    "where: shapes [3] and [4] cannot be broadcast together (dim 0: 3 vs 4)"});
  errors.push_back({OpKind::Where, "where of values [3] and [4]",
                    [c, x3, x4] { (void)where(c, x3, x4); },
                    "where: shapes [3] and [4] cannot be broadcast together (dim 0: 3 vs 4)"});
  errors.push_back({OpKind::Where, "where with an undefined condition",
                    [x3] { (void)where(Tensor(), x3, x3); },
                    "where: argument 0 is an undefined tensor"});
  errors.push_back({OpKind::Where, "where with an undefined first value",
                    [c, x3] { (void)where(c, Tensor(), x3); },
                    "where: argument 1 is an undefined tensor"});
  errors.push_back({OpKind::Where, "where with an undefined second value",
                    [c, x3] { (void)where(c, x3, Tensor()); },
                    "where: argument 2 is an undefined tensor"});
  return errors;
}

}  // namespace kiln::test
