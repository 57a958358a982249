// Element types, their names as users write them (f32, i64, bool), and promotion.
// Promotion follows PyTorch's category order: bool < integer < floating.
#pragma once

#include <cstdint>
#include <string_view>

namespace kiln {

enum class DType : uint8_t { Bool, I32, I64, F32, F64 };

inline constexpr DType kAllDTypes[] = {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64};

[[nodiscard]] std::string_view dtype_name(DType dtype);
[[nodiscard]] int64_t dtype_size(DType dtype);
[[nodiscard]] bool is_floating(DType dtype);
[[nodiscard]] bool is_integral(DType dtype);  // i32, i64 (not bool)

// The smallest type both a and b convert to without losing their category.
[[nodiscard]] DType promote_types(DType a, DType b);

// Parses "f32", "i64", ...; throws kiln::Error naming what it got otherwise.
[[nodiscard]] DType parse_dtype(std::string_view name);

template <DType D>
struct CTypeOf;
template <>
struct CTypeOf<DType::Bool> {
  using type = bool;
};
template <>
struct CTypeOf<DType::I32> {
  using type = int32_t;
};
template <>
struct CTypeOf<DType::I64> {
  using type = int64_t;
};
template <>
struct CTypeOf<DType::F32> {
  using type = float;
};
template <>
struct CTypeOf<DType::F64> {
  using type = double;
};

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<bool>() {
  return DType::Bool;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::I32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::I64;
}
template <>
constexpr DType dtype_of<float>() {
  return DType::F32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::F64;
}

// Calls fn.template operator()<T>() with T the C++ type of dtype.
template <class Fn>
decltype(auto) visit_dtype(DType dtype, Fn &&fn) {
  switch (dtype) {
    case DType::Bool: return fn.template operator()<bool>();
    case DType::I32: return fn.template operator()<int32_t>();
    case DType::I64: return fn.template operator()<int64_t>();
    case DType::F32: return fn.template operator()<float>();
    case DType::F64: return fn.template operator()<double>();
  }
  __builtin_unreachable();
}

}  // namespace kiln
