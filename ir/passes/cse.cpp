// Common subexpression elimination: one forward walk with a table of nodes seen so far.
#include "ir/passes/cse.h"

#include <algorithm>
#include <map>

namespace kiln::ir {
namespace {

bool is_commutative(OpKind op) {
  switch (op) {
    case OpKind::Add:
    case OpKind::Mul:
    case OpKind::Maximum:
    case OpKind::Minimum:
    case OpKind::Eq:
    case OpKind::Ne:
    case OpKind::LogicalAnd:
    case OpKind::LogicalOr: return true;
    default: return false;
  }
}

using Key = std::pair<OpKind, std::vector<ValueId>>;

// The lookup key: attrs are compared separately, as they have no order.
Key key_of(const Node &n) {
  Key key{n.op, n.operands};
  if (is_commutative(n.op)) std::sort(key.second.begin(), key.second.end());
  return key;
}

}  // namespace

bool cse(Graph &g) {
  std::map<Key, std::vector<const Node *>> seen;
  std::vector<ValueId> alias(g.num_values());
  for (ValueId v = 0; v < g.num_values(); ++v) alias[v] = v;
  bool changed = false;
  for (Node &n : g.nodes) {
    for (ValueId &v : n.operands) v = alias[v];
    std::vector<const Node *> &same = seen[key_of(n)];
    auto first =
        std::find_if(same.begin(), same.end(), [&](const Node *m) { return m->attrs == n.attrs; });
    if (first == same.end()) {
      same.push_back(&n);
      continue;
    }
    alias[n.result] = (*first)->result;
    changed = true;
  }
  for (ValueId &v : g.outputs) v = alias[v];
  return changed;
}

}  // namespace kiln::ir
