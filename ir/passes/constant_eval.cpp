// Elementwise ops on constant scalars: one table row per op with its float formula (in
// double) and its integer formula (wrapping int64, exact); attribute-driven ops follow it.
#include "ir/passes/constant_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::ir {
namespace {

using FloatFn = double (*)(double, double);
using IntFn = int64_t (*)(int64_t, int64_t);

// Two's-complement arithmetic without undefined behaviour; results are later wrapped to
// the dtype's width, which keeps the low bits i32 arithmetic would have.
int64_t wrap_add(int64_t x, int64_t y) { return static_cast<int64_t>(uint64_t(x) + uint64_t(y)); }
int64_t wrap_sub(int64_t x, int64_t y) { return static_cast<int64_t>(uint64_t(x) - uint64_t(y)); }
int64_t wrap_mul(int64_t x, int64_t y) { return static_cast<int64_t>(uint64_t(x) * uint64_t(y)); }

int64_t int_pow(int64_t base, int64_t exp) {
  if (exp < 0) return base == 1 ? 1 : (exp & 1 ? -1 : 1);  // base is ±1 (see undefined_int)
  int64_t result = 1;
  for (; exp > 0; exp >>= 1, base = wrap_mul(base, base))
    if (exp & 1) result = wrap_mul(result, base);
  return result;
}

double nan_max(double x, double y) { return x != x ? x : (y != y ? y : (x > y ? x : y)); }
double nan_min(double x, double y) { return x != x ? x : (y != y ? y : (x < y ? x : y)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
template <class T>
T sign(T x) {
  return x != x ? x : T((T(0) < x) - (x < T(0)));
}

struct Formula {
  OpKind op;
  FloatFn f;
  IntFn i;  // nullptr: the op only takes floats
};

// Unary rows ignore their second argument. Comparisons and logical ops give 0 or 1.
constexpr Formula kFormulas[] = {
    {OpKind::Neg, [](double x, double) { return -x; },
     [](int64_t x, int64_t) { return wrap_sub(0, x); }},
    {OpKind::Abs, [](double x, double) { return x < 0 ? -x : x; },
     [](int64_t x, int64_t) { return x < 0 ? wrap_sub(0, x) : x; }},
    {OpKind::Exp, [](double x, double) { return std::exp(x); }, nullptr},
    {OpKind::Log, [](double x, double) { return std::log(x); }, nullptr},
    {OpKind::Log1p, [](double x, double) { return std::log1p(x); }, nullptr},
    {OpKind::Expm1, [](double x, double) { return std::expm1(x); }, nullptr},
    {OpKind::Sqrt, [](double x, double) { return std::sqrt(x); }, nullptr},
    {OpKind::Rsqrt, [](double x, double) { return 1.0 / std::sqrt(x); }, nullptr},
    {OpKind::Sin, [](double x, double) { return std::sin(x); }, nullptr},
    {OpKind::Cos, [](double x, double) { return std::cos(x); }, nullptr},
    {OpKind::Tanh, [](double x, double) { return std::tanh(x); }, nullptr},
    {OpKind::Sigmoid, [](double x, double) { return sigmoid(x); }, nullptr},
    {OpKind::Relu, [](double x, double) { return x < 0 ? 0.0 : x; },
     [](int64_t x, int64_t) { return x < 0 ? 0 : x; }},
    {OpKind::Silu, [](double x, double) { return x * sigmoid(x); }, nullptr},
    {OpKind::Erf, [](double x, double) { return std::erf(x); }, nullptr},
    {OpKind::Reciprocal, [](double x, double) { return 1.0 / x; }, nullptr},
    {OpKind::Floor, [](double x, double) { return std::floor(x); },
     [](int64_t x, int64_t) { return x; }},
    {OpKind::Ceil, [](double x, double) { return std::ceil(x); },
     [](int64_t x, int64_t) { return x; }},
    {OpKind::Round, [](double x, double) { return std::nearbyint(x); },
     [](int64_t x, int64_t) { return x; }},
    {OpKind::Sign, [](double x, double) { return sign(x); },
     [](int64_t x, int64_t) { return sign(x); }},
    {OpKind::LogicalNot, [](double x, double) { return double(x == 0); },
     [](int64_t x, int64_t) { return int64_t(x == 0); }},
    {OpKind::Add, [](double x, double y) { return x + y; }, wrap_add},
    {OpKind::Sub, [](double x, double y) { return x - y; }, wrap_sub},
    {OpKind::Mul, [](double x, double y) { return x * y; }, wrap_mul},
    {OpKind::Div, [](double x, double y) { return x / y; }, nullptr},
    {OpKind::Pow, [](double x, double y) { return std::pow(x, y); }, int_pow},
    {OpKind::Maximum, nan_max, [](int64_t x, int64_t y) { return x > y ? x : y; }},
    {OpKind::Minimum, nan_min, [](int64_t x, int64_t y) { return x < y ? x : y; }},
    {OpKind::Fmod, [](double x, double y) { return std::fmod(x, y); },
     [](int64_t x, int64_t y) { return y == -1 ? 0 : x % y; }},
    {OpKind::Eq, [](double x, double y) { return double(x == y); },
     [](int64_t x, int64_t y) { return int64_t(x == y); }},
    {OpKind::Ne, [](double x, double y) { return double(x != y); },
     [](int64_t x, int64_t y) { return int64_t(x != y); }},
    {OpKind::Lt, [](double x, double y) { return double(x < y); },
     [](int64_t x, int64_t y) { return int64_t(x < y); }},
    {OpKind::Le, [](double x, double y) { return double(x <= y); },
     [](int64_t x, int64_t y) { return int64_t(x <= y); }},
    {OpKind::Gt, [](double x, double y) { return double(x > y); },
     [](int64_t x, int64_t y) { return int64_t(x > y); }},
    {OpKind::Ge, [](double x, double y) { return double(x >= y); },
     [](int64_t x, int64_t y) { return int64_t(x >= y); }},
    {OpKind::LogicalAnd, [](double x, double y) { return double(x != 0 && y != 0); },
     [](int64_t x, int64_t y) { return int64_t(x != 0 && y != 0); }},
    {OpKind::LogicalOr, [](double x, double y) { return double(x != 0 || y != 0); },
     [](int64_t x, int64_t y) { return int64_t(x != 0 || y != 0); }},
};

// Ops whose formula needs attributes or a third operand; evaluated in eval_special.
constexpr OpKind kSpecial[] = {OpKind::Gelu, OpKind::Convert, OpKind::Clamp, OpKind::Where};

const Formula *formula(OpKind op) {
  for (const Formula &f : kFormulas)
    if (f.op == op) return &f;
  return nullptr;
}

// Where the integer kernel throws instead of producing a value.
bool undefined_int(OpKind op, int64_t x, int64_t y) {
  return (op == OpKind::Pow && y < 0 && x != 1 && x != -1) || (op == OpKind::Fmod && y == 0);
}

int64_t wrap_to(DType dtype, int64_t v) {
  if (dtype == DType::Bool) return v != 0;
  if (dtype == DType::I32) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return v;
}

Constant make(DType dtype, double f, int64_t i) {
  if (dtype == DType::F32) return {dtype, 0, static_cast<double>(static_cast<float>(f))};
  if (dtype == DType::F64) return {dtype, 0, f};
  return {dtype, wrap_to(dtype, i), 0.0};
}

// A clamp bound in x's dtype: integer bounds saturate, float bounds convert.
Constant clamp_bound(const Attrs &attrs, std::string_view key, DType dtype, bool upper) {
  const AttrValue *v = attrs.find(key);
  if (v == nullptr) {
    double inf = upper ? INFINITY : -INFINITY;
    return is_floating(dtype) ? make(dtype, inf, 0) : convert_to({DType::F64, 0, inf}, dtype);
  }
  if (const int64_t *i = std::get_if<int64_t>(v)) {
    if (is_floating(dtype)) return make(dtype, static_cast<double>(*i), 0);
    if (dtype == DType::I32) return {dtype, std::clamp<int64_t>(*i, INT32_MIN, INT32_MAX), 0.0};
    return {dtype, *i, 0.0};
  }
  return convert_to({DType::F64, 0, attrs.get_double(key)}, dtype);
}

Constant clamp(const Constant &x, const Attrs &attrs) {
  Constant lo = clamp_bound(attrs, "min", x.dtype, false);
  Constant hi = clamp_bound(attrs, "max", x.dtype, true);
  if (!is_floating(x.dtype)) return {x.dtype, std::min(std::max(x.i, lo.i), hi.i), 0.0};
  if (lo.f != lo.f || hi.f != hi.f) return make(x.dtype, NAN, 0);
  return x.f != x.f ? x : make(x.dtype, std::min(std::max(x.f, lo.f), hi.f), 0);
}

double gelu(double x, bool approximate) {
  if (approximate)
    return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (1.0 + std::erf(x * 0.7071067811865476));
}

Constant eval_special(OpKind op, std::span<const Constant> in, const Attrs &attrs, DType out) {
  switch (op) {
    case OpKind::Gelu: return make(out, gelu(in[0].f, attrs.get_bool("approximate")), 0);
    case OpKind::Convert: return convert_to(in[0], out);
    case OpKind::Clamp: return clamp(in[0], attrs);
    default: return in[0].i != 0 ? in[1] : in[2];  // where
  }
}

}  // namespace

Constant full_value(const Attrs &full_attrs) {
  DType dtype = full_attrs.get_dtype("dtype", DType::F32);
  const AttrValue *v = full_attrs.find("value");
  if (v == nullptr) return convert_to({DType::I64, 0, 0.0}, dtype);
  if (const int64_t *i = std::get_if<int64_t>(v)) return convert_to({DType::I64, *i, 0.0}, dtype);
  if (const bool *b = std::get_if<bool>(v)) return convert_to({DType::I64, *b, 0.0}, dtype);
  return convert_to({DType::F64, 0, full_attrs.get_double("value")}, dtype);
}

AttrValue value_attr(const Constant &c) {
  if (is_floating(c.dtype)) return c.f;
  return c.i;
}

Constant convert_to(const Constant &c, DType to) {
  if (!is_floating(c.dtype)) return make(to, static_cast<double>(c.i), c.i);
  if (to == DType::Bool) return {to, c.f != 0.0, 0.0};
  if (is_floating(to)) return make(to, c.f, 0);
  // Saturating float-to-integer conversion, NaN to 0, as the convert kernel does.
  const double lo = to == DType::I32 ? INT32_MIN : static_cast<double>(INT64_MIN);
  const double hi = to == DType::I32 ? INT32_MAX : static_cast<double>(INT64_MAX);
  const int64_t max = to == DType::I32 ? INT32_MAX : INT64_MAX;
  if (c.f != c.f) return {to, 0, 0.0};
  if (c.f <= lo) return {to, to == DType::I32 ? INT32_MIN : INT64_MIN, 0.0};
  if (c.f >= hi) return {to, max, 0.0};
  return {to, static_cast<int64_t>(c.f), 0.0};
}

std::optional<Constant> eval_elementwise(OpKind op, std::span<const Constant> in,
                                         const Attrs &attrs, DType out) {
  if (std::find(std::begin(kSpecial), std::end(kSpecial), op) != std::end(kSpecial))
    return eval_special(op, in, attrs, out);
  const Formula *f = formula(op);
  if (f == nullptr) return std::nullopt;
  const Constant &x = in[0], &y = in.size() > 1 ? in[1] : in[0];
  if (is_floating(x.dtype)) {
    double r = f->f(x.f, y.f);
    return make(out, r, static_cast<int64_t>(r));
  }
  if (f->i == nullptr || undefined_int(op, x.i, y.i)) return std::nullopt;
  int64_t r = f->i(x.i, y.i);
  return make(out, static_cast<double>(r), r);
}

bool has_formula(OpKind op) {
  return formula(op) != nullptr ||
         std::find(std::begin(kSpecial), std::end(kSpecial), op) != std::end(kSpecial);
}

}  // namespace kiln::ir
