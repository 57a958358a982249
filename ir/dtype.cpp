// Element types: names, sizes and promotion.
#include "ir/dtype.h"

#include "ir/diag.h"

namespace kiln {

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Bool: return "bool";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::F32: return "f32";
    case DType::F64: return "f64";
  }
  KILN_UNREACHABLE("bad dtype {}", static_cast<int>(dtype));
}

int64_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Bool: return 1;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::F32: return 4;
    case DType::F64: return 8;
  }
  KILN_UNREACHABLE("bad dtype {}", static_cast<int>(dtype));
}

bool is_floating(DType dtype) { return dtype == DType::F32 || dtype == DType::F64; }

bool is_integral(DType dtype) { return dtype == DType::I32 || dtype == DType::I64; }

DType promote_types(DType a, DType b) {
  // The enum is declared in promotion order, so the larger one wins.
  return static_cast<uint8_t>(a) >= static_cast<uint8_t>(b) ? a : b;
}

DType parse_dtype(std::string_view name) {
  for (DType d : kAllDTypes)
    if (dtype_name(d) == name) return d;
  fail("unknown dtype '{}': expected one of bool, i32, i64, f32, f64", name);
}

}  // namespace kiln
