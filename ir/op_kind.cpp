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

}  // namespace kiln
