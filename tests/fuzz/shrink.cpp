// Greedy node deletion: each candidate is the graph with one node forwarded to a same-typed
// operand (or input) or one output dropped; a candidate is kept while the failure persists.
#include "shrink.h"

#include <algorithm>
#include <optional>

#include "ir/diag.h"
#include "ir/verify.h"

namespace kiln::test::fuzz {

bool remove_dead(ir::Graph &g) {
  bool changed = false;
  for (bool again = true; again;) {
    std::vector<int32_t> uses = ir::use_counts(g);
    again = std::erase_if(g.nodes, [&](const ir::Node &n) { return uses[n.result] == 0; }) > 0;
    changed |= again;
  }
  std::vector<int32_t> uses = ir::use_counts(g);
  changed |= std::erase_if(g.inputs, [&](ir::ValueId v) { return uses[v] == 0; }) > 0;
  return changed;
}

namespace {

// Candidate reductions of g, most aggressive first.
std::vector<ir::Graph> candidates(const ir::Graph &g) {
  std::vector<ir::Graph> out;
  for (size_t i = 0; g.outputs.size() > 1 && i < g.outputs.size(); ++i) {
    ir::Graph c = g;
    c.outputs.erase(c.outputs.begin() + static_cast<std::ptrdiff_t>(i));
    out.push_back(std::move(c));
  }
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const ir::Node &n = g.nodes[k];
    std::vector<ir::ValueId> with = n.operands;
    with.insert(with.end(), g.inputs.begin(), g.inputs.end());
    for (ir::ValueId v : with) {
      if (g.type(v) != g.type(n.result)) continue;
      ir::Graph c = g;
      ir::replace_uses(c, n.result, v);
      c.nodes.erase(c.nodes.begin() + static_cast<std::ptrdiff_t>(k));
      out.push_back(std::move(c));
      break;
    }
  }
  return out;
}

bool valid(const ir::Graph &g) {
  try {
    ir::verify(g);
    return true;
  } catch (const Error &) {
    return false;
  }
}

}  // namespace

ir::Graph shrink(ir::Graph g, const StillFails &still_fails, int budget) {
  // A candidate is tried without its dead code first, then as is: the failure may be in
  // how dead code is handled.
  auto attempt = [&](const ir::Graph &c) {
    ir::Graph clean = c;
    bool pruned = remove_dead(clean);
    for (const ir::Graph *t : {static_cast<const ir::Graph *>(&clean), &c}) {
      if (t == &c && !pruned) break;
      if (!valid(*t) || budget-- <= 0) continue;
      if (still_fails(*t)) return std::optional<ir::Graph>(*t);
    }
    return std::optional<ir::Graph>();
  };
  if (std::optional<ir::Graph> clean = attempt(g)) g = std::move(*clean);
  for (bool progress = true; progress && budget > 0;) {
    progress = false;
    for (const ir::Graph &c : candidates(g)) {
      std::optional<ir::Graph> kept = attempt(c);
      if (!kept) continue;
      g = std::move(*kept);
      progress = true;
      break;
    }
  }
  return g;
}

}  // namespace kiln::test::fuzz
