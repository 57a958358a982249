// Scalar: a plain number passed where a tensor could go (x * 0.5, clamp(x, 0, 6)).
// It remembers its kind so promotion can follow PyTorch: a Python-style scalar never
// widens a tensor within its own category (f32 tensor * 0.5 stays f32).
#pragma once

#include <cstdint>
#include <type_traits>

#include "ir/dtype.h"

namespace kiln {

class Scalar {
 public:
  enum class Kind : uint8_t { Bool, Int, Float };

  Scalar(bool v) : kind_(Kind::Bool), i_(v), f_(v) {}
  template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  Scalar(T v) : kind_(Kind::Int), i_(static_cast<int64_t>(v)), f_(static_cast<double>(v)) {}
  template <class T>
    requires std::is_floating_point_v<T>
  Scalar(T v) : kind_(Kind::Float), i_(static_cast<int64_t>(v)), f_(static_cast<double>(v)) {}

  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] double to_double() const { return f_; }
  [[nodiscard]] int64_t to_int() const { return i_; }
  // The dtype a tensor made from this scalar alone gets: bool, i64 or f32.
  [[nodiscard]] DType default_dtype() const {
    return kind_ == Kind::Bool ? DType::Bool : kind_ == Kind::Int ? DType::I64 : DType::F32;
  }

 private:
  Kind kind_;
  int64_t i_;
  double f_;
};

}  // namespace kiln
