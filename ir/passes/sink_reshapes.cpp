// sink-reshapes rebuilds the node list in order, as small-matmul does: a node it rewrites
// becomes f on x's shape plus one reshape back, and later nodes read that reshape, so a
// chain of elementwise ops sinks in one run. One reshape level per run: a reshape of a
// reshape is simplify's to fold.
#include "ir/passes/sink_reshapes.h"

#include <algorithm>
#include <optional>

#include "ir/diag.h"
#include "ir/passes/decompose_rules.h"

namespace kiln::ir {
namespace {

bool all_ones(const Shape &s) {
  return std::all_of(s.begin(), s.end(), [](int64_t d) { return d == 1; });
}

// Whether broadcasting a value of shape `z` to `from` and to `to` (shapes of equal element
// count) puts the same value at every flat index: z is a scalar in disguise, or its dims
// fall in a trailing run of dims that `from` and `to` share.
bool same_broadcast(const Shape &z, const Shape &from, const Shape &to) {
  if (all_ones(z)) return z.size() <= to.size();
  const size_t r = z.size();
  return r <= from.size() && r <= to.size() &&
         std::equal(from.end() - static_cast<std::ptrdiff_t>(r), from.end(),
                    to.end() - static_cast<std::ptrdiff_t>(r));
}

class Sinker {
 public:
  explicit Sinker(Graph &g) : g_(g), producer_(static_cast<size_t>(g.num_values())) {}

  bool run() {
    std::vector<Node> old = std::move(g_.nodes);
    g_.nodes.clear();
    g_.nodes.reserve(old.size());
    alias_.resize(static_cast<size_t>(g_.num_values()));
    for (ValueId v = 0; v < g_.num_values(); ++v) alias_[static_cast<size_t>(v)] = v;
    bool changed = false;
    for (Node &n : old) {
      for (ValueId &v : n.operands) v = alias_[static_cast<size_t>(v)];
      if (std::optional<ValueId> sunk = sink(n)) {
        alias_[static_cast<size_t>(n.result)] = *sunk;
        changed = true;
        continue;
      }
      append(std::move(n));
    }
    for (ValueId &v : g_.outputs) v = alias_[static_cast<size_t>(v)];
    return changed;
  }

 private:
  void append(Node n) {
    const ValueId result = n.result;
    g_.nodes.push_back(std::move(n));
    note(result);
  }

  // Records the producer of the node just added at the end (Builder::emit adds nodes too).
  void note(ValueId v) {
    if (static_cast<size_t>(v) >= producer_.size()) {
      producer_.resize(static_cast<size_t>(v) + 1);
      alias_.resize(static_cast<size_t>(v) + 1);
      alias_[static_cast<size_t>(v)] = v;
    }
    producer_[static_cast<size_t>(v)] = g_.nodes.size() - 1;
  }

  const Node *def(ValueId v, OpKind op) const {
    if (static_cast<size_t>(v) >= producer_.size() || !producer_[static_cast<size_t>(v)])
      return nullptr;
    const Node &n = g_.nodes[*producer_[static_cast<size_t>(v)]];
    return n.op == op ? &n : nullptr;
  }

  std::optional<ValueId> sink(const Node &n) {
    if (op_info(n.op).category != OpCategory::Elementwise || n.operands.empty())
      return std::nullopt;
    const Shape to = g_.type(n.result).shape;
    // The shape to move to: that of the first reshape's source.
    std::optional<Shape> from;
    for (ValueId o : n.operands)
      if (const Node *r = def(o, OpKind::Reshape)) {
        from = g_.type(r->operands[0]).shape;
        break;
      }
    if (!from || *from == to) return std::nullopt;
    struct Moved {
      ValueId value;
      bool broadcast;  // broadcast `value` to `from`, else use it as it is
    };
    std::vector<Moved> moved;
    for (ValueId o : n.operands) {
      if (g_.type(o).shape != to) return std::nullopt;
      if (const Node *r = def(o, OpKind::Reshape); r && g_.type(r->operands[0]).shape == *from) {
        moved.push_back({r->operands[0], false});
      } else if (const Node *b = def(o, OpKind::Broadcast);
                 b && same_broadcast(g_.type(b->operands[0]).shape, to, *from)) {
        moved.push_back({b->operands[0], true});
      } else {
        return std::nullopt;
      }
    }
    const size_t before = g_.nodes.size();
    Builder b{g_};
    std::vector<ValueId> operands;
    for (const Moved &m : moved)
      operands.push_back(m.broadcast ? b.broadcast(m.value, *from) : m.value);
    const ValueId inner = b.emit(n.op, operands, n.attrs);
    const ValueId out = b.emit(OpKind::Reshape, {inner}, {{"shape", to}});
    for (size_t i = before; i < g_.nodes.size(); ++i) note(g_.nodes[i].result);
    KILN_CHECK(g_.type(out) == g_.type(n.result), "sink_reshapes: type {} became {}",
               g_.type(n.result).str(), g_.type(out).str());
    return out;
  }

  Graph &g_;
  std::vector<std::optional<size_t>> producer_;  // index into g_.nodes, by value id
  std::vector<ValueId> alias_;
};

}  // namespace

bool sink_reshapes(Graph &g) { return Sinker(g).run(); }

}  // namespace kiln::ir
