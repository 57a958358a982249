// Constant folding in one forward walk: a folded node becomes a `full` in place, so the
// nodes that use it can fold in the same walk.
#include "ir/passes/fold_constants.h"

#include "ir/passes/constant_eval.h"

namespace kiln::ir {
namespace {

bool is_folded_movement(OpKind op) {
  return op == OpKind::Reshape || op == OpKind::Broadcast || op == OpKind::Permute ||
         op == OpKind::Slice;
}

void make_full(Node &n, const TensorType &type, AttrValue value) {
  n.op = OpKind::Full;
  n.operands.clear();
  n.attrs = Attrs{{"shape", type.shape}, {"dtype", type.dtype}, {"value", std::move(value)}};
}

// The folded value of n, or nullopt when n does not fold. defs[v] is v's defining node.
std::optional<AttrValue> fold(const Node &n, const std::vector<const Node *> &defs,
                              const Graph &g) {
  std::vector<Constant> in;
  for (ValueId v : n.operands) {
    if (defs[v] == nullptr || defs[v]->op != OpKind::Full) return std::nullopt;
    in.push_back(full_value(defs[v]->attrs));
  }
  if (in.empty()) return std::nullopt;
  if (is_folded_movement(n.op)) {  // keep the literal as written: the value is unchanged
    const AttrValue *literal = defs[n.operands[0]]->attrs.find("value");
    return literal != nullptr ? *literal : value_attr(in[0]);
  }
  if (op_info(n.op).category != OpCategory::Elementwise) return std::nullopt;
  std::optional<Constant> c = eval_elementwise(n.op, in, n.attrs, g.type(n.result).dtype);
  if (!c) return std::nullopt;
  return value_attr(*c);
}

}  // namespace

bool fold_constants(Graph &g) {
  std::vector<const Node *> defs(g.num_values(), nullptr);
  bool changed = false;
  for (Node &n : g.nodes) {
    defs[n.result] = &n;
    std::optional<AttrValue> value = fold(n, defs, g);
    if (!value) continue;
    make_full(n, g.type(n.result), std::move(*value));
    changed = true;
  }
  return changed;
}

}  // namespace kiln::ir
