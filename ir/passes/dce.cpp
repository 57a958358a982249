// Dead code elimination: one backward sweep marks what the outputs need.
#include "ir/passes/dce.h"

#include <algorithm>

namespace kiln::ir {
namespace {

// live[v] is true when an output needs value v. Operands precede their users, so a single
// walk from the last node back reaches every need.
std::vector<bool> live_values(const Graph &g) {
  std::vector<bool> live(g.num_values(), false);
  for (ValueId v : g.outputs) live[v] = true;
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it)
    if (live[it->result])
      for (ValueId v : it->operands) live[v] = true;
  return live;
}

}  // namespace

bool dce(Graph &g) {
  std::vector<bool> live = live_values(g);
  size_t before = g.nodes.size();
  std::erase_if(g.nodes, [&](const Node &n) { return !live[n.result]; });
  return g.nodes.size() != before;
}

}  // namespace kiln::ir
