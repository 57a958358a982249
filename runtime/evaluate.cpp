// Node-by-node evaluation with last-use release of intermediates.
#include "runtime/evaluate.h"

#include "ir/diag.h"
#include "runtime/execute.h"

namespace kiln::runtime {

std::vector<Array> evaluate(const ir::Graph &g, std::span<const Array> inputs) {
  if (inputs.size() != g.inputs.size())
    fail("evaluate @{}: expected {} inputs, got {}", g.name, g.inputs.size(), inputs.size());
  std::vector<Array> values(static_cast<size_t>(g.num_values()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorType &want = g.type(g.inputs[i]);
    if (inputs[i].type() != want)
      fail("evaluate @{}: input '{}' expected {}, got {}", g.name, g.value(g.inputs[i]).name,
           want.str(), inputs[i].type().str());
    values[g.inputs[i]] = inputs[i];
  }
  // Release each intermediate after the node that uses it last.
  std::vector<int32_t> last_use(values.size(), -1);
  for (size_t n = 0; n < g.nodes.size(); ++n)
    for (ir::ValueId v : g.nodes[n].operands) last_use[v] = static_cast<int32_t>(n);
  for (ir::ValueId v : g.outputs) last_use[v] = static_cast<int32_t>(g.nodes.size());

  std::vector<const Array *> operands;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const ir::Node &node = g.nodes[n];
    operands.clear();
    for (ir::ValueId v : node.operands) operands.push_back(&values[v]);
    values[node.result] = execute(node.op, operands, node.attrs, g.type(node.result));
    for (ir::ValueId v : node.operands)
      if (last_use[v] == static_cast<int32_t>(n)) values[v] = Array{};
  }
  std::vector<Array> outputs;
  outputs.reserve(g.outputs.size());
  for (ir::ValueId v : g.outputs) outputs.push_back(values[v]);
  return outputs;
}

}  // namespace kiln::runtime
