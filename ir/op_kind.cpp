// Name lookups over the op table.
#include "ir/op_kind.h"

namespace kiln {

std::optional<OpKind> op_from_name(std::string_view name) {
  for (const OpInfo &info : kOpTable)
    if (info.name == name) return info.kind;
  return std::nullopt;
}

std::string_view category_name(OpCategory category) {
  switch (category) {
    case OpCategory::Source: return "source";
    case OpCategory::Elementwise: return "elementwise";
    case OpCategory::Reduce: return "reduce";
    case OpCategory::Contraction: return "contraction";
    case OpCategory::Movement: return "movement";
    case OpCategory::Composite: return "composite";
  }
  return "?";
}

bool is_math_function(OpKind op) {
  constexpr OpKind kMath[] = {OpKind::Exp, OpKind::Log, OpKind::Log1p, OpKind::Expm1,
                              OpKind::Sin, OpKind::Cos, OpKind::Tanh,  OpKind::Sigmoid,
                              OpKind::Erf, OpKind::Pow, OpKind::Gelu,  OpKind::Silu};
  for (OpKind m : kMath)
    if (m == op) return true;
  return false;
}

}  // namespace kiln
