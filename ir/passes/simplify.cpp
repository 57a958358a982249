// Algebraic simplification: forward walks applying the rule tables of each op family,
// repeated until a walk changes nothing. Replaced results are forwarded to their users and
// the replaced nodes dropped.
#include "ir/passes/simplify.h"

#include "ir/passes/simplify_rules.h"

namespace kiln::ir {
namespace {

// Applies the first rule of `rules` that fires on n; true when one did.
bool apply_rules(const Graph &g, Node &n, const Defs &defs, std::span<const Rule> rules,
                 std::vector<ValueId> &alias) {
  for (const Rule &rule : rules) {
    if (rule.op != n.op) continue;
    std::optional<ValueId> result = rule.apply(g, n, defs);
    if (!result) continue;
    if (*result != n.result) alias[n.result] = *result;
    return true;
  }
  return false;
}

bool simplify_once(Graph &g) {
  Defs defs(g.num_values(), nullptr);
  std::vector<ValueId> alias(g.num_values());
  for (ValueId v = 0; v < g.num_values(); ++v) alias[v] = v;
  bool changed = false;
  for (Node &n : g.nodes) {
    for (ValueId &v : n.operands) v = alias[v];
    defs[n.result] = &n;
    for (std::span<const Rule> rules : {arith_rules(), movement_rules(), convert_rules()}) {
      if (!apply_rules(g, n, defs, rules, alias)) continue;
      changed = true;
      break;
    }
  }
  for (ValueId &v : g.outputs) v = alias[v];
  // A replaced node has no uses left; dropping it keeps the next walk from firing again.
  std::erase_if(g.nodes, [&](const Node &n) { return alias[n.result] != n.result; });
  return changed;
}

}  // namespace

std::optional<ValueId> same_type(const Graph &g, Node &n, const Defs &) {
  if (g.type(n.operands[0]) != g.type(n.result)) return std::nullopt;
  return n.operands[0];
}

const Node *def_of(const Defs &defs, ValueId v, OpKind op) {
  const Node *d = defs[v];
  return d != nullptr && d->op == op ? d : nullptr;
}

bool simplify(Graph &g) {
  bool changed = false;
  while (simplify_once(g)) changed = true;
  return changed;
}

}  // namespace kiln::ir
