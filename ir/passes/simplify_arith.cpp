// Arithmetic identities: adding zero, multiplying or dividing by one, double negation.
// A constant is a `full` node, possibly seen through one `broadcast`.
#include "ir/passes/constant_eval.h"
#include "ir/passes/simplify_rules.h"

namespace kiln::ir {
namespace {

// True when v is a constant equal to `value` everywhere.
bool is_constant(const Defs &defs, ValueId v, double value) {
  if (const Node *b = def_of(defs, v, OpKind::Broadcast)) v = b->operands[0];
  const Node *full = def_of(defs, v, OpKind::Full);
  if (full == nullptr) return false;
  Constant c = full_value(full->attrs);
  return is_floating(c.dtype) ? c.f == value : static_cast<double>(c.i) == value;
}

// op(x, k) → x where the constant k is operand `k_at` (the other operand is x).
template <int k_at, int value>
std::optional<ValueId> identity(const Graph &g, Node &n, const Defs &defs) {
  ValueId x = n.operands[1 - k_at];
  if (!is_constant(defs, n.operands[k_at], value) || g.type(x) != g.type(n.result))
    return std::nullopt;
  return x;
}

// op(op(x)) → x for an op that is its own inverse.
std::optional<ValueId> involution(const Graph &, Node &n, const Defs &defs) {
  const Node *inner = def_of(defs, n.operands[0], n.op);
  if (inner == nullptr) return std::nullopt;
  return inner->operands[0];
}

constexpr Rule kRules[] = {
    {OpKind::Add, identity<1, 0>},  // x + 0 → x
    {OpKind::Add, identity<0, 0>},  // 0 + x → x
    {OpKind::Sub, identity<1, 0>},  // x - 0 → x
    {OpKind::Mul, identity<1, 1>},  // x * 1 → x
    {OpKind::Mul, identity<0, 1>},  // 1 * x → x
    {OpKind::Div, identity<1, 1>},  // x / 1 → x
    {OpKind::Neg, involution},      // neg(neg(x)) → x
};

}  // namespace

std::span<const Rule> arith_rules() { return kRules; }

}  // namespace kiln::ir
