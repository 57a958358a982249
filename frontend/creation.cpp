// Creation ops: sources through the dispatcher, and copies of user data.
#include <cmath>
#include <cstring>

#include "dispatch.h"
#include "generator.h"
#include "ir/diag.h"
#include "kiln/ops.h"

namespace kiln {
namespace {

// Validates sizes under the name the user called (zeros, not the full op beneath it).
const Shape &checked_shape(std::string_view op, const Shape &shape) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0) fail("{}: size at dim {} must be non-negative, got {}", op, i, shape[i]);
  return shape;
}

AttrValue scalar_attr(Scalar value, DType dtype) {
  if (is_floating(dtype) || value.kind() == Scalar::Kind::Float) return value.to_double();
  return value.to_int();
}

Attrs random_attrs(std::string_view op, const Shape &shape, DType dtype) {
  Attrs attrs = draw_random(numel(checked_shape(op, shape)));
  return attrs.set("shape", shape).set("dtype", dtype);
}

// ceil((end - start) / step) for a step that moves towards end, without overflow.
__int128 ceil_div128(int64_t end, int64_t start, int64_t step) {
  const __int128 span = static_cast<__int128>(end) - start;
  return step > 0 ? (span + step - 1) / step : (span + step + 1) / step;
}

Tensor filled(std::string_view op, const Shape &shape, Scalar value, std::optional<DType> dtype) {
  DType d = dtype.value_or(value.default_dtype());
  return dispatch(
      OpKind::Full, {},
      Attrs{{"shape", checked_shape(op, shape)}, {"dtype", d}, {"value", scalar_attr(value, d)}});
}

}  // namespace

Tensor full(const Shape &shape, Scalar value, std::optional<DType> dtype) {
  return filled("full", shape, value, dtype);
}
Tensor zeros(const Shape &shape, DType dtype) { return filled("zeros", shape, 0, dtype); }
Tensor ones(const Shape &shape, DType dtype) { return filled("ones", shape, 1, dtype); }
Tensor zeros_like(const Tensor &x) {
  if (!x.defined()) fail("zeros_like: argument 0 is an undefined tensor");
  return zeros(x.sizes(), x.dtype());
}
Tensor ones_like(const Tensor &x) {
  if (!x.defined()) fail("ones_like: argument 0 is an undefined tensor");
  return ones(x.sizes(), x.dtype());
}
Tensor scalar_tensor(Scalar value, std::optional<DType> dtype) { return full({}, value, dtype); }

Tensor arange(Scalar end, std::optional<DType> dtype) { return arange(0, end, 1, dtype); }

Tensor arange(Scalar start, Scalar end, Scalar step, std::optional<DType> dtype) {
  const bool any_float = start.kind() == Scalar::Kind::Float || end.kind() == Scalar::Kind::Float ||
                         step.kind() == Scalar::Kind::Float;
  const DType d = dtype.value_or(any_float ? DType::F32 : DType::I64);
  const double s = start.to_double(), e = end.to_double(), st = step.to_double();
  if (st == 0) fail("arange: step must be nonzero");
  if (!std::isfinite(s) || !std::isfinite(e) || !std::isfinite(st))
    fail("arange: start, end and step must be finite, got {}, {}, {}", s, e, st);
  const bool away = any_float
                        ? (st > 0 && e < s) || (st < 0 && e > s)
                        : ceil_div128(end.to_int(), start.to_int(), step.to_int()) < 0;  // exact
  if (away) fail("arange: step {} moves away from end: start={} end={}", st, s, e);
  // Integer arguments count exactly (in 128 bits: end - start may not fit int64).
  const double count =
      any_float ? std::ceil((e - s) / st)
                : static_cast<double>(ceil_div128(end.to_int(), start.to_int(), step.to_int()));
  if (!(count < 0x1p62))
    fail("arange: start={} end={} step={} gives {:g} elements: expected at most 2^62",
         start.to_double(), end.to_double(), step.to_double(), count);
  const int64_t n =
      any_float ? static_cast<int64_t>(count)
                : static_cast<int64_t>(ceil_div128(end.to_int(), start.to_int(), step.to_int()));
  Attrs attrs{{"shape", Shape{n}}, {"dtype", d}};
  if (any_float) {
    attrs.set("start", s).set("step", st);
  } else {
    attrs.set("start", start.to_int()).set("step", step.to_int());
  }
  return dispatch(OpKind::Arange, {}, attrs);
}

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  if (steps < 0) fail("linspace: number of steps must be non-negative, got {}", steps);
  return dispatch(OpKind::Linspace, {},
                  Attrs{{"shape", Shape{steps}}, {"dtype", dtype}, {"start", start}, {"end", end}});
}

Tensor eye(int64_t n, std::optional<int64_t> m, DType dtype) {
  return dispatch(OpKind::Eye, {}, Attrs{{"shape", Shape{n, m.value_or(n)}}, {"dtype", dtype}});
}

Tensor rand(const Shape &shape, DType dtype) {
  return dispatch(OpKind::Rand, {}, random_attrs("rand", shape, dtype));
}

Tensor randn(const Shape &shape, DType dtype) {
  return dispatch(OpKind::Randn, {}, random_attrs("randn", shape, dtype));
}

Tensor randint(int64_t low, int64_t high, const Shape &shape, DType dtype) {
  Attrs attrs = random_attrs("randint", shape, dtype);
  attrs.set("low", low).set("high", high);
  return dispatch(OpKind::Randint, {}, attrs);
}

template <class T>
Tensor from_data(const T *data, const Shape &shape) {
  Tensor out = empty(shape, dtype_of<T>());
  if (out.numel() > 0) std::memcpy(out.impl().storage.data(), data, out.numel() * sizeof(T));
  return out;
}

template <class T>
Tensor from_vector(const std::vector<T> &data, std::optional<Shape> shape) {
  // Sizes first: [-1,-2] would pass the count check below and fail in empty(), a name the
  // user never called.
  const Shape s =
      checked_shape("from_vector", shape.value_or(Shape{static_cast<int64_t>(data.size())}));
  if (numel(s) != static_cast<int64_t>(data.size()))
    fail("from_vector: shape {} needs {} elements, got {}", format_shape(s), numel(s), data.size());
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(data.begin(), data.end());
    return from_data(reinterpret_cast<const bool *>(bytes.data()), s);
  } else {
    return from_data(data.data(), s);
  }
}

#define KILN_INSTANTIATE_FROM(T)                          \
  template Tensor from_data<T>(const T *, const Shape &); \
  template Tensor from_vector<T>(const std::vector<T> &, std::optional<Shape>);
KILN_INSTANTIATE_FROM(bool)
KILN_INSTANTIATE_FROM(int32_t)
KILN_INSTANTIATE_FROM(int64_t)
KILN_INSTANTIATE_FROM(float)
KILN_INSTANTIATE_FROM(double)
#undef KILN_INSTANTIATE_FROM

}  // namespace kiln
