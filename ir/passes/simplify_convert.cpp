// Conversion identities: a convert to the value's own dtype vanishes, and a chain of two
// converts shortens where its first step is exact.
#include "ir/passes/simplify_rules.h"

namespace kiln::ir {
namespace {

// True when dtype `to` holds every value of dtype `from` exactly.
bool holds_all(DType from, DType to) {
  if (from == to || from == DType::Bool) return true;
  if (from == DType::I32) return to == DType::I64 || to == DType::F64;
  return from == DType::F32 && to == DType::F64;
}

// convert(convert(x, B), C) → convert(x, C) when B holds every value of x exactly: the
// second convert then sees x's own value. When C is x's dtype, same_type removes it next.
std::optional<ValueId> skip_exact_inner(const Graph &g, Node &n, const Defs &defs) {
  const Node *inner = def_of(defs, n.operands[0], OpKind::Convert);
  if (inner == nullptr) return std::nullopt;
  ValueId x = inner->operands[0];
  if (!holds_all(g.type(x).dtype, g.type(inner->result).dtype)) return std::nullopt;
  if (g.type(x) == g.type(n.result)) return x;
  n.operands[0] = x;
  return n.result;
}

constexpr Rule kRules[] = {
    {OpKind::Convert, same_type},         // convert(x, dtype of x) → x
    {OpKind::Convert, skip_exact_inner},  // convert(convert(x, wider), C) → convert(x, C)
};

}  // namespace

std::span<const Rule> convert_rules() { return kRules; }

}  // namespace kiln::ir
