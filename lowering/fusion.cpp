// Greedy fusion over the node list in graph order (lowering/fusion.h). A kernel node joins the
// group of one of its operands when shapes and roles allow it and no cycle between groups
// would form; a node with no such group joins the latest group of its shape it can (sibling
// fusion), or starts one. Groups are put in dependency order at the end.
#include "lowering/fusion.h"

#include <algorithm>
#include <optional>
#include <queue>
#include <set>
#include <utility>

#include "ir/diag.h"

namespace kiln::lower {

using ir::Graph;
using ir::Node;
using ir::ValueId;
namespace {

bool is_view(OpKind op) {
  return op == OpKind::Broadcast || op == OpKind::Permute || op == OpKind::Slice ||
         op == OpKind::Reshape;
}

// Reductions a row kernel computes with one accumulator. argmax/argmin (which need the
// index too) run in the runtime.
bool is_row_reduction(OpKind op) {
  return op == OpKind::Sum || op == OpKind::Max || op == OpKind::Min || op == OpKind::Prod ||
         op == OpKind::All || op == OpKind::Any;
}

// Elementwise ops a kernel computes: all but integer pow and fmod, which can fail (a
// negative exponent, a zero divisor) and so run in the runtime, where they can say so.
bool is_kernel_elementwise(const Graph &g, const Node &n) {
  if (op_info(n.op).category != OpCategory::Elementwise) return false;
  if (n.op != OpKind::Pow && n.op != OpKind::Fmod) return true;
  return is_floating(g.type(n.result).dtype);
}

std::vector<int64_t> reduced_dims(const Graph &g, const Node &n) {
  const int64_t rank = static_cast<int64_t>(g.type(n.operands[0]).shape.size());
  if (rank == 0) return {};  // a scalar "reduced" over dim 0 or -1, as PyTorch allows
  std::vector<int64_t> dims = n.attrs.get_ints("dims");
  if (dims.empty())
    for (int64_t d = 0; d < rank; ++d) dims.push_back(d);
  for (int64_t &d : dims) d = d < 0 ? d + rank : d;
  std::sort(dims.begin(), dims.end());
  return dims;
}

// A per-row shape of a row group: the iteration shape with the reduced dims kept as 1 or
// dropped, as keepdim=true/false reductions produce.
bool is_row_shape(const Group &group, const Shape &s) {
  Shape kept, squeezed;
  for (size_t d = 0; d < group.shape.size(); ++d) {
    bool reduced = std::binary_search(group.reduce_dims.begin(), group.reduce_dims.end(),
                                      static_cast<int64_t>(d));
    kept.push_back(reduced ? 1 : group.shape[d]);
    if (!reduced) squeezed.push_back(group.shape[d]);
  }
  return s == kept || s == squeezed;
}

// Whether broadcasting a row value of `s` to the group's shape puts each of its elements on
// the row it belongs to. Broadcasts align dims to the right (NumPy), so a keepdim=false
// result lands on its row only when the reduced dims lead: max(x, 1) of x [3,3] broadcast
// back is a row of maxima, not a column, and must be read as a buffer.
bool broadcasts_onto_rows(const Group &group, const Shape &s) {
  if (s.size() > group.shape.size()) return false;
  const size_t lead = group.shape.size() - s.size();
  for (size_t d = 0; d < group.shape.size(); ++d) {
    const bool reduced = std::binary_search(group.reduce_dims.begin(), group.reduce_dims.end(),
                                            static_cast<int64_t>(d));
    const int64_t want = reduced ? 1 : group.shape[d];
    const int64_t got = d < lead ? 1 : s[d - lead];
    if (got != want) return false;
  }
  return true;
}

class Fuser {
 public:
  Fuser(const Graph &g, const FusionChoices &choices)
      : g_(g),
        choices_(choices),
        producer_(producer_nodes(g)),
        uses_(use_counts(g)),
        group_of_(g.num_values(), -1),
        role_(g.num_values(), Role::Element),
        depth_(g.num_values(), 0) {}

  FusionPlan run() {
    is_output_.assign(g_.num_values(), false);
    for (ValueId v : g_.outputs) is_output_[v] = true;
    value_readers_.assign(g_.num_values(), {});
    for (size_t n = 0; n < g_.nodes.size(); ++n)
      for (ValueId o : g_.nodes[n].operands) value_readers_[o].push_back(static_cast<int32_t>(n));
    for (size_t n = 0; n < g_.nodes.size(); ++n) place(static_cast<int32_t>(n));
    for (ValueId v : g_.outputs) materialize(v);
    return finish();
  }

 private:
  const Graph &g_;
  const FusionChoices choices_;
  std::vector<int32_t> producer_;
  std::vector<int32_t> uses_;                        // value -> operands that read it
  std::vector<bool> is_output_;                      // value -> returned by the graph
  std::vector<std::vector<int32_t>> value_readers_;  // value -> nodes reading it (repeats)
  std::vector<int32_t> group_of_;  // value -> group computing it (kernel member or library)
  std::vector<Role> role_;         // value -> role in its kernel group
  std::vector<int32_t> depth_;     // value -> math functions on its longest path in its group
  std::vector<Group> groups_;
  std::vector<bool> dead_;                  // merged into another group
  std::vector<std::set<int32_t>> deps_;     // group -> groups whose buffers it reads
  std::vector<std::set<int32_t>> readers_;  // group -> groups that read its buffers
  // group -> at least the largest group index it reaches (itself included): reaches() skips
  // whatever cannot lead to its target, so a long chain's checks stay short.
  std::vector<int32_t> upper_;
  mutable std::vector<uint32_t> visited_;  // reaches()'s marks: the query's stamp
  mutable uint32_t stamp_ = 0;

  const Node &node_of(ValueId v) const { return g_.nodes[producer_[v]]; }
  bool is_kernel_group(int32_t gid) const {
    return gid >= 0 && groups_[gid].kind != GroupKind::Library;
  }

  // Groups whose buffers reading `v` needs: through inlined views down to their roots.
  void add_sources(ValueId v, std::set<int32_t> &out) const {
    if (group_of_[v] >= 0) {
      out.insert(group_of_[v]);
      return;
    }
    if (producer_[v] < 0) return;
    for (ValueId o : node_of(v).operands) add_sources(o, out);
  }

  // Whether group `from` depends on group `to`, directly or through others.
  bool reaches(int32_t from, int32_t to) const {
    if (++stamp_ == 0) std::fill(visited_.begin(), visited_.end(), stamp_++);
    std::vector<int32_t> stack = {from};
    while (!stack.empty()) {
      int32_t at = stack.back();
      stack.pop_back();
      if (at == to) return true;
      if (visited_[at] == stamp_ || upper_[at] < to) continue;
      visited_[at] = stamp_;
      for (int32_t d : deps_[at]) stack.push_back(d);
    }
    return false;
  }

  // Group `g` reads group `s`'s buffers; every group that reaches g now reaches s's upper.
  void add_dep(int32_t g, int32_t s) {
    if (g == s || !deps_[g].insert(s).second) return;
    readers_[s].insert(g);
    std::vector<int32_t> stack = {g};
    const int32_t up = upper_[s];
    while (!stack.empty()) {
      int32_t at = stack.back();
      stack.pop_back();
      if (upper_[at] >= up) continue;
      upper_[at] = up;
      stack.insert(stack.end(), readers_[at].begin(), readers_[at].end());
    }
  }

  int32_t new_group(GroupKind kind, Shape shape) {
    Group group;
    group.kind = kind;
    group.shape = std::move(shape);
    groups_.push_back(std::move(group));
    dead_.push_back(false);
    deps_.emplace_back();
    readers_.emplace_back();
    upper_.push_back(static_cast<int32_t>(groups_.size() - 1));
    visited_.push_back(0);
    return static_cast<int32_t>(groups_.size() - 1);
  }

  // Matmuls the backends generate code for; integer ones run in the runtime.
  bool is_generated_matmul(const Node &node) const {
    const TensorType &t = g_.type(node.result);
    return node.op == OpKind::Matmul && (t.dtype == DType::F32 || t.dtype == DType::F64) &&
           t.shape.size() >= 2;
  }

  // The convert node producing matmul operand `o`, when the GEMM can do it while packing
  // instead: a cast to the matmul's dtype read by nothing else, alone in its group (so
  // taking it away leaves nothing behind). -1 otherwise.
  int32_t prologue_cast(ValueId o) const {
    const int32_t c = producer_[o];
    if (c < 0 || g_.nodes[c].op != OpKind::Convert || uses_[o] != 1 || is_output_[o]) return -1;
    const int32_t gid = group_of_[o];
    if (gid < 0 || groups_[gid].kind != GroupKind::Pointwise || groups_[gid].members.size() != 1)
      return -1;
    return c;
  }

  // A matmul group takes pointwise nodes of its shape that read one of its members directly
  // (its product or an epilogue value): those are its epilogue. Anything else would be a
  // sibling computed per tile for no reason. A node that reads only members the graph
  // returns anyway stays out unless it is returned too or its readers can follow it into
  // the epilogue: else it would be one more buffer written for another kernel to read, where
  // that kernel can compute it from the returned value instead (a training step returns the
  // weight gradient g, and Adam's 0.1 * g and 0.001 * g * g were two more [4096,1024]
  // outputs of W10's GEMMs, read back by the update kernel).
  bool fits_epilogue(const Node &node, int32_t gid) const {
    if (is_row_reduction(node.op) || g_.type(node.result).shape != groups_[gid].shape) return false;
    bool reads_member = false, reads_only_returned = true;
    for (ValueId o : node.operands) {
      ViewChain chain = resolve_views(g_, producer_, o);
      if (chain.constant || !chain.views.empty() || group_of_[chain.root] != gid) continue;
      reads_member = true;
      reads_only_returned = reads_only_returned && is_output_[chain.root];
    }
    return reads_member &&
           (!reads_only_returned || is_output_[node.result] || readers_follow(node.result, gid));
  }

  // Whether v's readers can all follow it into group gid's epilogue and end in values the
  // graph returns: each is an elementwise node of the group's shape whose other operands are
  // constants, graph inputs (a residual, a bias) or members already, returned or followed
  // in turn. `budget` bounds the nodes looked at (a wide graph would fan out), and a
  // reader that is no such node (a view of v, a reduction, another shape) stops it.
  bool readers_follow(ValueId v, int32_t gid) const {
    int budget = 32;
    return readers_follow(v, gid, budget);
  }
  bool readers_follow(ValueId v, int32_t gid, int &budget) const {
    const std::vector<int32_t> &readers = value_readers_[v];
    if (readers.empty()) return false;
    for (int32_t r : readers) {
      if (--budget < 0) return false;
      const Node &reader = g_.nodes[r];
      if (!is_kernel_elementwise(g_, reader) || g_.type(reader.result).shape != groups_[gid].shape)
        return false;
      for (ValueId o : reader.operands) {
        if (o == v) continue;
        ViewChain chain = resolve_views(g_, producer_, o);
        const bool input = producer_[chain.root] < 0;
        if (!chain.constant && !input && !(chain.views.empty() && group_of_[chain.root] == gid))
          return false;
      }
      if (!is_output_[reader.result] && !readers_follow(reader.result, gid, budget)) return false;
    }
    return true;
  }

  // The role node `n` would have in group `gid`, or nullopt when it cannot be a member:
  // wrong shape, an operand it would need at another index, or a dependency cycle.
  std::optional<Role> fit(int32_t n, int32_t gid, std::set<int32_t> &sources) const {
    const Node &node = g_.nodes[n];
    const Group &group = groups_[gid];
    if (static_cast<int64_t>(group.members.size()) >= choices_.max_kernel_members)
      return std::nullopt;
    if (math_depth(n, gid) > choices_.max_math_depth) return std::nullopt;
    if (group.kind == GroupKind::Matmul && !fits_epilogue(node, gid)) return std::nullopt;
    const Shape &shape = g_.type(node.result).shape;
    Role role = Role::Element;
    if (is_row_reduction(node.op)) {
      if (group.shape != g_.type(node.operands[0]).shape) return std::nullopt;
      if (group.kind == GroupKind::Row && group.reduce_dims != reduced_dims(g_, node))
        return std::nullopt;
      role = Role::Row;
    } else if (shape != group.shape) {
      if (group.kind != GroupKind::Row || !is_row_shape(group, shape)) return std::nullopt;
      role = Role::Row;
    }
    sources.clear();
    for (ValueId o : node.operands) {
      ViewChain chain = resolve_views(g_, producer_, o);
      if (chain.constant) continue;
      if (group_of_[chain.root] == gid) {
        if (!reads_member(node, role, group, o, chain)) return std::nullopt;
        continue;
      }
      add_sources(chain.root, sources);
    }
    if (sources.count(gid)) return std::nullopt;
    for (int32_t s : sources)
      if (reaches(s, gid)) return std::nullopt;
    return role;
  }

  // Whether a member in `role` can read operand `o` of its own group inside the kernel: a
  // reduction reads an element value; an element value reads anything, a row value also
  // through a broadcast back to the row; a row value reads row values.
  bool reads_member(const Node &node, Role role, const Group &group, ValueId o,
                    const ViewChain &chain) const {
    const Role inner = role_[chain.root];
    if (is_row_reduction(node.op)) return chain.views.empty() && inner == Role::Element;
    if (chain.views.empty()) return role == Role::Element || inner == Role::Row;
    return group.kind == GroupKind::Row && role == Role::Element && inner == Role::Row &&
           chain.views.size() == 1 && g_.nodes[chain.views[0]].op == OpKind::Broadcast &&
           g_.type(o).shape == group.shape &&
           broadcasts_onto_rows(group, g_.type(chain.root).shape);
  }

  // Math functions on the longest path to node n's result within group gid, n included.
  int32_t math_depth(int32_t n, int32_t gid) const {
    const Node &node = g_.nodes[n];
    int32_t deepest = 0;
    for (ValueId o : node.operands) {
      ViewChain chain = resolve_views(g_, producer_, o);
      if (!chain.constant && group_of_[chain.root] == gid)
        deepest = std::max(deepest, depth_[chain.root]);
    }
    return deepest + (is_math_function(node.op) ? 1 : 0);
  }

  int32_t max_depth(int32_t gid) const {
    int32_t deepest = 0;
    for (int32_t m : groups_[gid].members) deepest = std::max(deepest, depth_[g_.nodes[m].result]);
    return deepest;
  }

  void join(int32_t n, int32_t gid, Role role, const std::set<int32_t> &sources) {
    Group &group = groups_[gid];
    group.members.push_back(n);
    group.roles.push_back(role);
    group_of_[g_.nodes[n].result] = gid;
    role_[g_.nodes[n].result] = role;
    depth_[g_.nodes[n].result] = math_depth(n, gid);
    for (int32_t s : sources) add_dep(gid, s);
    for (ValueId o : g_.nodes[n].operands) {
      ViewChain chain = resolve_views(g_, producer_, o);
      if (chain.constant || group_of_[chain.root] >= 0) continue;
      // A cut view chain becomes a buffer of its own group: the kernel now reads that
      // group, and later merges must see the edge or they can close a cycle through it.
      materialize(chain.root);
      if (group_of_[chain.root] >= 0) add_dep(gid, group_of_[chain.root]);
    }
  }

  void place(int32_t n) {
    const Node &node = g_.nodes[n];
    if (is_view(node.op) || node.op == OpKind::Full) return;  // inlined, or materialized later
    if (!is_kernel_elementwise(g_, node) && !is_row_reduction(node.op)) {
      const GroupKind kind = is_generated_matmul(node) ? GroupKind::Matmul : GroupKind::Library;
      std::vector<int32_t> casts;
      if (kind == GroupKind::Matmul)
        for (ValueId o : node.operands)
          if (int32_t c = prologue_cast(o);
              c >= 0 && std::find(casts.begin(), casts.end(), c) == casts.end())
            casts.push_back(c);
      for (int32_t c : casts) {  // its group goes
        const int32_t old = group_of_[g_.nodes[c].result];
        dead_[old] = true;
        groups_[old].members.clear();
        groups_[old].roles.clear();
      }
      std::vector<ValueId> reads;  // buffers the step reads
      for (ValueId o : node.operands)
        reads.push_back(producer_[o] >= 0 &&
                                std::find(casts.begin(), casts.end(), producer_[o]) != casts.end()
                            ? g_.nodes[producer_[o]].operands[0]
                            : o);
      for (ValueId o : reads) materialize(o);
      int32_t gid = new_group(kind, g_.type(node.result).shape);
      std::set<int32_t> sources;
      for (ValueId o : reads) add_sources(o, sources);
      for (int32_t c : casts) {  // members before join() looks at the operands
        group_of_[g_.nodes[c].result] = gid;
        role_[g_.nodes[c].result] = Role::Prologue;
      }
      join(n, gid, Role::Element, sources);
      for (int32_t c : casts) {  // after the matmul, which leads its group
        groups_[gid].members.push_back(c);
        groups_[gid].roles.push_back(Role::Prologue);
      }
      return;
    }
    std::set<int32_t> sources;
    // Operand groups first (latest first: usually the one just built), then siblings.
    std::vector<int32_t> candidates;
    for (ValueId o : node.operands) {
      ViewChain chain = resolve_views(g_, producer_, o);
      if (!chain.constant && is_kernel_group(group_of_[chain.root]))
        candidates.push_back(group_of_[chain.root]);
    }
    std::sort(candidates.rbegin(), candidates.rend());
    const int32_t newest = static_cast<int32_t>(groups_.size()) - 1;
    for (int32_t gid = newest; gid >= 0 && gid > newest - choices_.max_siblings; --gid)
      if (is_kernel_group(gid) && !dead_[gid]) candidates.push_back(gid);
    for (int32_t gid : candidates) {
      if (dead_[gid]) continue;
      // A reduction turns a pointwise group over its input into a row group.
      if (is_row_reduction(node.op) && groups_[gid].kind == GroupKind::Pointwise &&
          groups_[gid].shape == g_.type(node.operands[0]).shape && fit(n, gid, sources)) {
        groups_[gid].kind = GroupKind::Row;
        groups_[gid].reduce_dims = reduced_dims(g_, node);
      }
      if (std::optional<Role> role = fit(n, gid, sources)) {
        join(n, gid, *role, sources);
        merge_operand_groups(n, gid);
        return;
      }
    }
    if (is_row_reduction(node.op)) {
      int32_t gid = new_group(GroupKind::Row, g_.type(node.operands[0]).shape);
      groups_[gid].reduce_dims = reduced_dims(g_, node);
      KILN_CHECK(fit(n, gid, sources), "a fresh row group must take its reduction");
      join(n, gid, Role::Row, sources);
      return;
    }
    int32_t gid = new_group(GroupKind::Pointwise, g_.type(node.result).shape);
    KILN_CHECK(fit(n, gid, sources), "a fresh pointwise group must take its node");
    join(n, gid, Role::Element, sources);
  }

  // After `n` joined `gid`, pointwise groups of the same shape that `n` reads directly
  // fold into `gid` when no member of either reads the other through a view and no third
  // group sits between them.
  void merge_operand_groups(int32_t n, int32_t gid) {
    if (groups_[gid].kind == GroupKind::Matmul) return;  // an epilogue only takes its readers
    for (ValueId o : g_.nodes[n].operands) {
      ViewChain chain = resolve_views(g_, producer_, o);
      if (chain.constant || !chain.views.empty()) continue;
      int32_t other = group_of_[chain.root];
      if (other == gid || !is_kernel_group(other) || dead_[other]) continue;
      if (groups_[other].kind != GroupKind::Pointwise || groups_[other].shape != groups_[gid].shape)
        continue;
      if (static_cast<int64_t>(groups_[gid].members.size() + groups_[other].members.size()) >
          choices_.max_kernel_members)
        continue;
      if (max_depth(gid) + max_depth(other) > choices_.max_math_depth) continue;
      if (reads_through_view(gid, other) || reads_through_view(other, gid)) continue;
      bool cycle = false;
      for (int32_t d : deps_[gid]) cycle |= d != other && reaches(d, other);
      for (int32_t d : deps_[other]) cycle |= d != gid && reaches(d, gid);
      if (cycle) continue;
      merge(other, gid);
    }
  }

  bool reads_through_view(int32_t reader, int32_t owner) const {
    for (int32_t m : groups_[reader].members)
      for (ValueId o : g_.nodes[m].operands) {
        ViewChain chain = resolve_views(g_, producer_, o);
        if (!chain.constant && !chain.views.empty() && group_of_[chain.root] == owner) return true;
      }
    return false;
  }

  void merge(int32_t from, int32_t into) {
    Group &src = groups_[from];
    Group &dst = groups_[into];
    for (size_t i = 0; i < src.members.size(); ++i) {
      dst.members.push_back(src.members[i]);
      dst.roles.push_back(Role::Element);
      group_of_[g_.nodes[src.members[i]].result] = into;
    }
    std::vector<size_t> order(dst.members.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return dst.members[a] < dst.members[b]; });
    Group sorted = dst;
    for (size_t i = 0; i < order.size(); ++i) {
      sorted.members[i] = dst.members[order[i]];
      sorted.roles[i] = dst.roles[order[i]];
    }
    dst = std::move(sorted);
    // `into` takes over `from`'s edges, both ways.
    const std::set<int32_t> from_deps = std::exchange(deps_[from], {});
    const std::set<int32_t> from_readers = std::exchange(readers_[from], {});
    deps_[into].erase(from);
    readers_[into].erase(from);
    for (int32_t d : from_deps) {
      readers_[d].erase(from);
      add_dep(into, d);
    }
    for (int32_t r : from_readers) {
      deps_[r].erase(from);
      add_dep(r, into);
    }
    dead_[from] = true;
    src.members.clear();
    for (int32_t m : dst.members)
      depth_[g_.nodes[m].result] = math_depth(m, into);  // in node order
  }

  // Makes `v` a buffer: a view or constant that a library node, the caller or a cut view
  // chain needs becomes a library group of its own (the runtime makes views cheaply).
  void materialize(ValueId v) {
    if (group_of_[v] >= 0 || producer_[v] < 0) return;
    const int32_t n = producer_[v];
    for (ValueId o : g_.nodes[n].operands) materialize(o);
    int32_t gid = new_group(GroupKind::Library, g_.type(v).shape);
    std::set<int32_t> sources;
    for (ValueId o : g_.nodes[n].operands) add_sources(o, sources);
    groups_[gid].members.push_back(n);
    groups_[gid].roles.push_back(Role::Element);
    group_of_[v] = gid;
    for (int32_t s : sources) add_dep(gid, s);
  }

  FusionPlan finish() {
    std::vector<bool> read(g_.num_values(), false);
    for (ValueId v : g_.outputs) read[v] = true;
    for (size_t gid = 0; gid < groups_.size(); ++gid) {
      Group &group = groups_[gid];
      if (dead_[gid]) continue;
      std::set<ValueId> inputs;
      group.inputs.clear();
      for (size_t i = 0; i < group.members.size(); ++i) {
        const int32_t m = group.members[i];
        if (group.roles[i] == Role::Prologue) continue;  // read through the matmul below
        for (ValueId o : g_.nodes[m].operands) {
          if (group.kind == GroupKind::Matmul && i == 0) {
            // The operands come first, even when one is read again; a cast one as its source.
            const bool cast =
                group_of_[o] == static_cast<int32_t>(gid) && role_[o] == Role::Prologue;
            group.inputs.push_back(cast ? g_.nodes[producer_[o]].operands[0] : o);
            continue;
          }
          if (group.kind == GroupKind::Library) {
            inputs.insert(o);
            continue;
          }
          ViewChain chain = resolve_views(g_, producer_, o);
          if (chain.constant || group_of_[chain.root] == static_cast<int32_t>(gid)) continue;
          inputs.insert(chain.root);
        }
      }
      group.inputs.insert(group.inputs.end(), inputs.begin(), inputs.end());
      for (ValueId v : group.inputs) read[v] = true;
    }
    for (size_t gid = 0; gid < groups_.size(); ++gid)
      for (int32_t m : groups_[gid].members)
        if (read[g_.nodes[m].result]) groups_[gid].outputs.push_back(g_.nodes[m].result);
    return FusionPlan{.groups = in_dependency_order()};
  }

  // Kahn's algorithm over the live groups, earliest first member first among the ready.
  std::vector<Group> in_dependency_order() const {
    const size_t count = groups_.size();
    std::vector<int32_t> pending(count, 0);
    std::vector<std::vector<int32_t>> readers(count);
    for (size_t gid = 0; gid < count; ++gid) {
      if (dead_[gid]) continue;
      std::set<int32_t> from;
      for (ValueId v : groups_[gid].inputs)
        if (group_of_[v] >= 0) from.insert(group_of_[v]);
      for (int32_t f : from) readers[f].push_back(static_cast<int32_t>(gid));
      pending[gid] = static_cast<int32_t>(from.size());
    }
    using Item = std::pair<int32_t, int32_t>;  // (first member, group)
    std::priority_queue<Item, std::vector<Item>, std::greater<>> ready;
    for (size_t gid = 0; gid < count; ++gid)
      if (!dead_[gid] && pending[gid] == 0)
        ready.emplace(groups_[gid].members.front(), static_cast<int32_t>(gid));
    std::vector<Group> order;
    while (!ready.empty()) {
      int32_t gid = ready.top().second;
      ready.pop();
      order.push_back(groups_[gid]);
      for (int32_t r : readers[gid])
        if (--pending[r] == 0) ready.emplace(groups_[r].members.front(), r);
    }
    size_t live = static_cast<size_t>(std::count(dead_.begin(), dead_.end(), false));
    KILN_CHECK(order.size() == live, "@{}: fusion groups form a cycle", g_.name);
    return order;
  }
};

}  // namespace

ViewChain resolve_views(const Graph &g, std::span<const int32_t> producer, ValueId v) {
  ViewChain chain{.root = v};
  size_t first_reshape = SIZE_MAX;  // position in `views` of the first reshape seen
  while (producer[chain.root] >= 0) {
    const int32_t n = producer[chain.root];
    const Node &node = g.nodes[n];
    if (node.op == OpKind::Full) {
      chain.constant = true;
      return chain;
    }
    if (!is_view(node.op)) break;
    if (node.op == OpKind::Reshape && first_reshape == SIZE_MAX) first_reshape = chain.views.size();
    if (node.op != OpKind::Reshape && first_reshape != SIZE_MAX) {
      // Cut at the first reshape: it becomes a buffer the runtime makes.
      chain.root = g.nodes[chain.views[first_reshape]].result;
      chain.views.resize(first_reshape);
      return chain;
    }
    chain.views.push_back(n);
    chain.root = node.operands[0];
  }
  return chain;
}

FusionPlan fuse(const Graph &g, const FusionChoices &choices) { return Fuser(g, choices).run(); }

bool take_trailing_fuse(std::string &pipeline) {
  size_t end = pipeline.find_last_not_of(" \t\n");
  if (end == std::string::npos) return false;
  size_t start = pipeline.find_last_of(',', end);
  start = start == std::string::npos ? 0 : start + 1;
  start = pipeline.find_first_not_of(" \t\n", start);
  if (pipeline.compare(start, end + 1 - start, "fuse") != 0) return false;
  size_t comma = pipeline.find_last_of(',', end);
  pipeline.resize(comma == std::string::npos ? 0 : comma);
  return true;
}

std::string_view group_kind_name(GroupKind kind) {
  switch (kind) {
    case GroupKind::Pointwise: return "pointwise";
    case GroupKind::Row: return "row";
    case GroupKind::Matmul: return "matmul";
    case GroupKind::Library: return "library";
  }
  return "?";
}

}  // namespace kiln::lower
