// Elementwise kernels: one strided loop (strided_loop.h), a lambda per op. Integer
// arithmetic wraps like two's complement instead of hitting undefined behaviour, and
// float-to-integer conversion saturates (NaN becomes 0).
#include "runtime/reference/elementwise.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ir/diag.h"
#include "runtime/reference/fast_math.h"
#include "runtime/reference/strided_loop.h"

namespace kiln::runtime {
namespace {

template <class T, class R, class F>
void map1(const View &in, const View &out, F f) {
  R *o = out.ptr<R>();
  for_each_row<1>(out.sizes, {&in}, [&](int64_t at, auto p, auto s, int64_t n) {
    const T *x = reinterpret_cast<const T *>(p[0]);
    R *z = o + at;
    if (s[0] == 1) {
      for (int64_t i = 0; i < n; ++i) z[i] = f(x[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) z[i] = f(x[i * s[0]]);
    }
  });
}

template <class T, class R, class F>
void map2(const View &a, const View &b, const View &out, F f) {
  R *o = out.ptr<R>();
  for_each_row<2>(out.sizes, {&a, &b}, [&](int64_t at, auto p, auto s, int64_t n) {
    const T *x = reinterpret_cast<const T *>(p[0]);
    const T *y = reinterpret_cast<const T *>(p[1]);
    R *z = o + at;
    if (s[0] == 1 && s[1] == 1) {
      for (int64_t i = 0; i < n; ++i) z[i] = f(x[i], y[i]);
    } else if (s[0] == 1 && s[1] == 0) {
      const T yv = y[0];
      for (int64_t i = 0; i < n; ++i) z[i] = f(x[i], yv);
    } else if (s[0] == 0 && s[1] == 1) {
      const T xv = x[0];
      for (int64_t i = 0; i < n; ++i) z[i] = f(xv, y[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) z[i] = f(x[i * s[0]], y[i * s[1]]);
    }
  });
}

template <class T>
constexpr bool kFloat = std::is_floating_point_v<T>;
template <class T>
constexpr bool kSignedInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// Two's-complement wrapping arithmetic for integers; plain arithmetic otherwise.
template <class T>
T wrap_add(T a, T b) {
  if constexpr (kSignedInt<T>)
    return static_cast<T>(static_cast<std::make_unsigned_t<T>>(a) +
                          static_cast<std::make_unsigned_t<T>>(b));
  else if constexpr (std::is_same_v<T, bool>)
    return a || b;
  else
    return a + b;
}
template <class T>
T wrap_sub(T a, T b) {
  if constexpr (kSignedInt<T>)
    return static_cast<T>(static_cast<std::make_unsigned_t<T>>(a) -
                          static_cast<std::make_unsigned_t<T>>(b));
  else if constexpr (std::is_same_v<T, bool>)
    return a != b;
  else
    return a - b;
}
template <class T>
T wrap_mul(T a, T b) {
  if constexpr (kSignedInt<T>)
    return static_cast<T>(static_cast<std::make_unsigned_t<T>>(a) *
                          static_cast<std::make_unsigned_t<T>>(b));
  else if constexpr (std::is_same_v<T, bool>)
    return a && b;
  else
    return a * b;
}

template <class T>
T int_pow(T base, T exp) {
  if (exp < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exp & 1) ? -1 : 1;
    fail("pow: integers cannot be raised to negative integer powers (got {} ** {})", base, exp);
  }
  T result = 1;
  while (exp > 0) {
    if (exp & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    exp >>= 1;
  }
  return result;
}

template <class T>
T nan_max(T a, T b) {
  if constexpr (kFloat<T>)
    return a != a ? a : (b != b ? b : (a > b ? a : b));
  else
    return a > b ? a : b;
}
template <class T>
T nan_min(T a, T b) {
  if constexpr (kFloat<T>)
    return a != a ? a : (b != b ? b : (a < b ? a : b));
  else
    return a < b ? a : b;
}

template <class R, class T>
R convert_value(T x) {
  if constexpr (std::is_same_v<R, bool>)
    return x != T(0);
  else if constexpr (kFloat<T> && !kFloat<R>) {
    constexpr double lo = static_cast<double>(std::numeric_limits<R>::min());
    constexpr double hi = static_cast<double>(std::numeric_limits<R>::max());
    if (x != x) return R(0);
    if (x <= lo) return std::numeric_limits<R>::min();
    if (x >= hi) return std::numeric_limits<R>::max();
    return static_cast<R>(x);
  } else
    return static_cast<R>(x);
}

// A clamp bound in T: integer bounds saturate to T's range, float bounds convert.
template <class T>
T clamp_bound(const Attrs &attrs, std::string_view key, T fallback) {
  const AttrValue *v = attrs.find(key);
  if (v == nullptr) return fallback;
  if (const int64_t *i = std::get_if<int64_t>(v)) {
    if constexpr (kFloat<T>)
      return static_cast<T>(*i);
    else if (*i < static_cast<int64_t>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    else if (*i > static_cast<int64_t>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    else
      return static_cast<T>(*i);
  }
  return convert_value<T>(attrs.get_double(key));
}

template <class T>
void float_unary(OpKind op, const View &in, const Attrs &attrs, const View &out) {
  using std::sqrt;
  switch (op) {
    case OpKind::Exp: return map1<T, T>(in, out, [](T x) { return k_exp(x); });
    case OpKind::Log: return map1<T, T>(in, out, [](T x) { return std::log(x); });
    case OpKind::Log1p: return map1<T, T>(in, out, [](T x) { return std::log1p(x); });
    case OpKind::Expm1: return map1<T, T>(in, out, [](T x) { return std::expm1(x); });
    case OpKind::Sqrt: return map1<T, T>(in, out, [](T x) { return sqrt(x); });
    case OpKind::Rsqrt: return map1<T, T>(in, out, [](T x) { return T(1) / sqrt(x); });
    case OpKind::Sin: return map1<T, T>(in, out, [](T x) { return std::sin(x); });
    case OpKind::Cos: return map1<T, T>(in, out, [](T x) { return std::cos(x); });
    case OpKind::Tanh: return map1<T, T>(in, out, [](T x) { return k_tanh(x); });
    case OpKind::Sigmoid: return map1<T, T>(in, out, [](T x) { return k_sigmoid(x); });
    case OpKind::Silu: return map1<T, T>(in, out, [](T x) { return x * k_sigmoid(x); });
    case OpKind::Erf: return map1<T, T>(in, out, [](T x) { return k_erf(x); });
    case OpKind::Reciprocal: return map1<T, T>(in, out, [](T x) { return T(1) / x; });
    case OpKind::Gelu:
      if (attrs.get_bool("approximate"))
        return map1<T, T>(in, out, [](T x) {
          const T k = T(0.7978845608028654);  // sqrt(2/pi)
          return T(0.5) * x * (T(1) + k_tanh(k * std::fma(T(0.044715) * x * x, x, x)));
        });
      return map1<T, T>(in, out,
                        [](T x) { return T(0.5) * x * (T(1) + k_erf(x * T(0.7071067811865476))); });
    default: KILN_UNREACHABLE("{} is not a floating-point unary op", op_name(op));
  }
}

template <class T>
void unary_typed(OpKind op, const View &in, const Attrs &attrs, const View &out) {
  switch (op) {
    case OpKind::Neg: return map1<T, T>(in, out, [](T x) { return wrap_sub(T(0), x); });
    case OpKind::Abs:
      return map1<T, T>(in, out, [](T x) { return x < T(0) ? wrap_sub(T(0), x) : x; });
    case OpKind::Relu: return map1<T, T>(in, out, [](T x) { return x < T(0) ? T(0) : x; });
    case OpKind::Sign:
      return map1<T, T>(in, out, [](T x) {
        if constexpr (kFloat<T>)
          if (x != x) return x;
        return T((T(0) < x) - (x < T(0)));
      });
    case OpKind::Floor:
      if constexpr (kFloat<T>) return map1<T, T>(in, out, [](T x) { return std::floor(x); });
      return convert_kernel(in, out);
    case OpKind::Ceil:
      if constexpr (kFloat<T>) return map1<T, T>(in, out, [](T x) { return std::ceil(x); });
      return convert_kernel(in, out);
    case OpKind::Round:
      if constexpr (kFloat<T>) return map1<T, T>(in, out, [](T x) { return std::nearbyint(x); });
      return convert_kernel(in, out);
    case OpKind::LogicalNot: return map1<T, bool>(in, out, [](T x) { return x == T(0); });
    case OpKind::Clamp: {
      // A missing bound is no bound: ±infinity for floats, so infinities pass through.
      constexpr bool kHasInf = std::numeric_limits<T>::has_infinity;
      const T lo = clamp_bound<T>(
          attrs, "min",
          kHasInf ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest());
      const T hi = clamp_bound<T>(
          attrs, "max",
          kHasInf ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max());
      if constexpr (kFloat<T>) {
        if (lo != lo || hi != hi)  // a NaN bound makes every element NaN, as in PyTorch
          return map1<T, T>(in, out, [](T) { return std::numeric_limits<T>::quiet_NaN(); });
        return map1<T, T>(in, out, [=](T x) { return x != x ? x : std::min(std::max(x, lo), hi); });
      }
      return map1<T, T>(in, out, [=](T x) { return std::min(std::max(x, lo), hi); });
    }
    default:
      if constexpr (kFloat<T>) return float_unary<T>(op, in, attrs, out);
      KILN_UNREACHABLE("{} does not take {}", op_name(op), dtype_name(in.dtype));
  }
}

template <class T>
void binary_typed(OpKind op, const View &a, const View &b, const View &out) {
  switch (op) {
    case OpKind::Add: return map2<T, T>(a, b, out, [](T x, T y) { return wrap_add(x, y); });
    case OpKind::Sub: return map2<T, T>(a, b, out, [](T x, T y) { return wrap_sub(x, y); });
    case OpKind::Mul: return map2<T, T>(a, b, out, [](T x, T y) { return wrap_mul(x, y); });
    case OpKind::Div:
      if constexpr (kFloat<T>) return map2<T, T>(a, b, out, [](T x, T y) { return x / y; });
      break;
    case OpKind::Pow:
      if constexpr (kFloat<T>)
        return map2<T, T>(a, b, out, [](T x, T y) { return std::pow(x, y); });
      if constexpr (kSignedInt<T>)
        return map2<T, T>(a, b, out, [](T x, T y) { return int_pow(x, y); });
      break;
    case OpKind::Maximum: return map2<T, T>(a, b, out, [](T x, T y) { return nan_max(x, y); });
    case OpKind::Minimum: return map2<T, T>(a, b, out, [](T x, T y) { return nan_min(x, y); });
    case OpKind::Fmod:
      if constexpr (kFloat<T>)
        return map2<T, T>(a, b, out, [](T x, T y) { return std::fmod(x, y); });
      if constexpr (kSignedInt<T>)
        return map2<T, T>(a, b, out, [](T x, T y) -> T {
          if (y == 0) fail("fmod: integer division by zero");
          return y == -1 ? T(0) : T(x % y);
        });
      break;
    case OpKind::Eq: return map2<T, bool>(a, b, out, [](T x, T y) { return x == y; });
    case OpKind::Ne: return map2<T, bool>(a, b, out, [](T x, T y) { return x != y; });
    case OpKind::Lt: return map2<T, bool>(a, b, out, [](T x, T y) { return x < y; });
    case OpKind::Le: return map2<T, bool>(a, b, out, [](T x, T y) { return x <= y; });
    case OpKind::Gt: return map2<T, bool>(a, b, out, [](T x, T y) { return x > y; });
    case OpKind::Ge: return map2<T, bool>(a, b, out, [](T x, T y) { return x >= y; });
    case OpKind::LogicalAnd:
      return map2<T, bool>(a, b, out, [](T x, T y) { return x != T(0) && y != T(0); });
    case OpKind::LogicalOr:
      return map2<T, bool>(a, b, out, [](T x, T y) { return x != T(0) || y != T(0); });
    default: break;
  }
  KILN_UNREACHABLE("{} does not take {}", op_name(op), dtype_name(a.dtype));
}

}  // namespace

void unary_kernel(OpKind op, const View &in, const Attrs &attrs, const View &out) {
  if (op == OpKind::Convert) return convert_kernel(in, out);
  visit_dtype(in.dtype, [&]<class T>() { unary_typed<T>(op, in, attrs, out); });
}

void binary_kernel(OpKind op, const View &a, const View &b, const View &out) {
  visit_dtype(a.dtype, [&]<class T>() { binary_typed<T>(op, a, b, out); });
}

void where_kernel(const View &cond, const View &a, const View &b, const View &out) {
  visit_dtype(a.dtype, [&]<class T>() {
    T *o = out.ptr<T>();
    for_each_row<3>(out.sizes, {&cond, &a, &b}, [&](int64_t at, auto p, auto s, int64_t n) {
      const bool *c = reinterpret_cast<const bool *>(p[0]);
      const T *x = reinterpret_cast<const T *>(p[1]);
      const T *y = reinterpret_cast<const T *>(p[2]);
      for (int64_t i = 0; i < n; ++i) o[at + i] = c[i * s[0]] ? x[i * s[1]] : y[i * s[2]];
    });
  });
}

void convert_kernel(const View &in, const View &out) {
  visit_dtype(in.dtype, [&]<class T>() {
    visit_dtype(out.dtype, [&]<class R>() {
      map1<T, R>(in, out, [](T x) { return convert_value<R, T>(x); });
    });
  });
}

void copy_into(const View &in, const View &dst) {
  KILN_CHECK(in.dtype == dst.dtype, "copy_into: dtypes differ");
  const int64_t esize = dtype_size(in.dtype);
  for_each_row<2>(dst.sizes, {&dst, &in}, [&](int64_t, auto p, auto s, int64_t n) {
    std::byte *d = const_cast<std::byte *>(p[0]);
    if (s[0] == 1 && s[1] == 1) {
      std::memcpy(d, p[1], static_cast<size_t>(n * esize));
      return;
    }
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(d + i * s[0] * esize, p[1] + i * s[1] * esize, static_cast<size_t>(esize));
  });
}

}  // namespace kiln::runtime
