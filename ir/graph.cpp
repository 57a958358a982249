// Graph construction and use bookkeeping.
#include "ir/graph.h"

#include <algorithm>

#include "ir/infer.h"

namespace kiln::ir {

ValueId Graph::add_input(std::string input_name, TensorType type) {
  ValueId id = new_value(std::move(type));
  values_[id].name = std::move(input_name);
  inputs.push_back(id);
  return id;
}

ValueId Graph::add_node(OpKind op, std::vector<ValueId> operands, Attrs attrs) {
  std::vector<TensorType> types;
  types.reserve(operands.size());
  for (ValueId v : operands) types.push_back(type(v));
  TensorType result = infer_type(op, types, attrs);
  return add_node_typed(op, std::move(operands), std::move(attrs), std::move(result));
}

ValueId Graph::add_node_typed(OpKind op, std::vector<ValueId> operands, Attrs attrs,
                              TensorType type) {
  ValueId id = new_value(std::move(type));
  nodes.push_back({op, std::move(operands), std::move(attrs), id});
  return id;
}

ValueId Graph::new_value(TensorType type) {
  values_.push_back({std::move(type), ""});
  return static_cast<ValueId>(values_.size() - 1);
}

bool Graph::is_input(ValueId v) const {
  return std::find(inputs.begin(), inputs.end(), v) != inputs.end();
}

void replace_uses(Graph &g, ValueId from, ValueId to) {
  for (Node &n : g.nodes)
    for (ValueId &v : n.operands)
      if (v == from) v = to;
  for (ValueId &v : g.outputs)
    if (v == from) v = to;
}

std::vector<int32_t> use_counts(const Graph &g) {
  std::vector<int32_t> uses(g.num_values(), 0);
  for (const Node &n : g.nodes)
    for (ValueId v : n.operands) ++uses[v];
  for (ValueId v : g.outputs) ++uses[v];
  return uses;
}

std::vector<int32_t> producer_nodes(const Graph &g) {
  std::vector<int32_t> producer(g.num_values(), -1);
  for (size_t n = 0; n < g.nodes.size(); ++n) producer[g.nodes[n].result] = static_cast<int32_t>(n);
  return producer;
}

}  // namespace kiln::ir
