// A value's static type: dtype plus shape, printed "f32[32,64]" ("f32[]" for a scalar).
#pragma once

#include <string>

#include "ir/dtype.h"
#include "ir/shape.h"

namespace kiln {

struct TensorType {
  DType dtype = DType::F32;
  Shape shape;

  [[nodiscard]] std::string str() const;
  friend bool operator==(const TensorType &, const TensorType &) = default;
};

}  // namespace kiln
