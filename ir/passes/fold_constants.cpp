// Constant folding in one forward walk. A constant is a `full`, or a `broadcast` of one (how
// the frontend writes a scalar used at a shape). A folded node becomes a `full` when it
// has at most one element, else a scalar `full` broadcast to its shape: a stride-0 view
// when executed, where a `full` of the big shape would be filled on every call.
#include "ir/passes/fold_constants.h"

#include "ir/passes/constant_eval.h"

namespace kiln::ir {
namespace {

bool is_folded_movement(OpKind op) {
  return op == OpKind::Reshape || op == OpKind::Broadcast || op == OpKind::Permute ||
         op == OpKind::Slice;
}

Attrs full_attrs(const TensorType &type, AttrValue value) {
  return Attrs{{"shape", type.shape}, {"dtype", type.dtype}, {"value", std::move(value)}};
}

// The `full` node behind v, looking through one broadcast, or nullptr.
const Node *constant_of(ValueId v, const std::vector<int32_t> &def,
                        const std::vector<Node> &nodes) {
  if (def[v] < 0) return nullptr;
  const Node *n = &nodes[def[v]];
  if (n->op == OpKind::Broadcast && def[n->operands[0]] >= 0) n = &nodes[def[n->operands[0]]];
  return n->op == OpKind::Full ? n : nullptr;
}

// The folded value of n, or nullopt when n does not fold.
std::optional<AttrValue> fold(const Node &n, const std::vector<int32_t> &def,
                              const std::vector<Node> &nodes, const Graph &g) {
  if (n.op == OpKind::Full) return std::nullopt;
  std::vector<const Node *> fulls;
  for (ValueId v : n.operands) {
    const Node *c = constant_of(v, def, nodes);
    if (c == nullptr) return std::nullopt;
    fulls.push_back(c);
  }
  if (fulls.empty()) return std::nullopt;
  if (is_folded_movement(n.op)) {  // keep the literal as written: the value is unchanged
    const AttrValue *literal = fulls[0]->attrs.find("value");
    return literal != nullptr ? *literal : value_attr(full_value(fulls[0]->attrs));
  }
  if (op_info(n.op).category != OpCategory::Elementwise) return std::nullopt;
  std::vector<Constant> in;
  for (const Node *c : fulls) in.push_back(full_value(c->attrs));
  std::optional<Constant> c = eval_elementwise(n.op, in, n.attrs, g.type(n.result).dtype);
  if (!c) return std::nullopt;
  return value_attr(*c);
}

}  // namespace

bool fold_constants(Graph &g) {
  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size());
  std::vector<int32_t> def(g.num_values(), -1);  // value -> index in `nodes`
  bool changed = false;
  for (Node &n : g.nodes) {
    std::optional<AttrValue> value = fold(n, def, nodes, g);
    const TensorType type = g.type(n.result);
    // A broadcast of a scalar full is already the canonical constant.
    const bool canonical =
        n.op == OpKind::Broadcast && value && g.type(n.operands[0]).shape.empty();
    if (!value || canonical) {
      def.resize(g.num_values(), -1);
      def[n.result] = static_cast<int32_t>(nodes.size());
      nodes.push_back(std::move(n));
      continue;
    }
    changed = true;
    if (numel(type.shape) <= 1) {
      def[n.result] = static_cast<int32_t>(nodes.size());
      nodes.push_back({OpKind::Full, {}, full_attrs(type, std::move(*value)), n.result});
      continue;
    }
    const ValueId scalar = g.new_value({type.dtype, {}});
    def.resize(g.num_values(), -1);
    def[scalar] = static_cast<int32_t>(nodes.size());
    nodes.push_back({OpKind::Full, {}, full_attrs({type.dtype, {}}, std::move(*value)), scalar});
    def[n.result] = static_cast<int32_t>(nodes.size());
    nodes.push_back({OpKind::Broadcast, {scalar}, Attrs{{"shape", type.shape}}, n.result});
  }
  g.nodes = std::move(nodes);
  return changed;
}

}  // namespace kiln::ir
