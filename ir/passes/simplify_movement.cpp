// Movement identities: moves that change nothing vanish, and two moves of one kind become
// one (reshape of reshape, broadcast of broadcast, permute of permute).
#include <numeric>

#include "ir/passes/simplify_rules.h"

namespace kiln::ir {
namespace {

// reshape(reshape(x)) → reshape(x), and the same for broadcast: the outer node keeps its
// target shape and reads x directly.
std::optional<ValueId> skip_inner(const Graph &, Node &n, const Defs &defs) {
  const Node *inner = def_of(defs, n.operands[0], n.op);
  if (inner == nullptr) return std::nullopt;
  n.operands[0] = inner->operands[0];
  return n.result;
}

std::vector<int64_t> normalized_perm(const Node &n, int64_t rank) {
  std::vector<int64_t> perm = n.attrs.get_ints("perm");
  for (int64_t &p : perm) p = p < 0 ? p + rank : p;
  return perm;
}

// permute(permute(x, p), q) → permute(x, r) with r[i] = p[q[i]].
std::optional<ValueId> compose_permutes(const Graph &g, Node &n, const Defs &defs) {
  const Node *inner = def_of(defs, n.operands[0], OpKind::Permute);
  if (inner == nullptr) return std::nullopt;
  int64_t rank = static_cast<int64_t>(g.type(n.result).shape.size());
  std::vector<int64_t> p = normalized_perm(*inner, rank), q = normalized_perm(n, rank);
  std::vector<int64_t> r;
  for (int64_t i : q) r.push_back(p[i]);
  n.operands[0] = inner->operands[0];
  n.attrs.set("perm", r);
  return n.result;
}

// permute(x, [0, 1, ..., n-1]) → x.
std::optional<ValueId> identity_permute(const Graph &g, Node &n, const Defs &) {
  int64_t rank = static_cast<int64_t>(g.type(n.result).shape.size());
  std::vector<int64_t> identity(rank);
  std::iota(identity.begin(), identity.end(), 0);
  if (normalized_perm(n, rank) != identity) return std::nullopt;
  return n.operands[0];
}

constexpr Rule kRules[] = {
    {OpKind::Reshape, same_type},         // reshape to x's own shape → x
    {OpKind::Broadcast, same_type},       // broadcast to x's own shape → x
    {OpKind::Slice, same_type},           // a slice keeping every element → x
    {OpKind::Permute, identity_permute},  // permute(x, identity) → x
    {OpKind::Reshape, skip_inner},        // reshape(reshape(x)) → reshape(x)
    {OpKind::Broadcast, skip_inner},      // broadcast(broadcast(x)) → broadcast(x)
    {OpKind::Permute, compose_permutes},  // permute(permute(x, p), q) → permute(x, p∘q)
};

}  // namespace

std::span<const Rule> movement_rules() { return kRules; }

}  // namespace kiln::ir
