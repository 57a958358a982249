// The rewrite views a as [..., m, 1, k] and b as [..., 1, n, k] (reshapes of the buffers
// first, then a permute and broadcasts: a chain the kernel reads in place through strides).
#include "ir/passes/small_matmul.h"

#include "ir/diag.h"
#include "ir/passes/decompose_rules.h"

namespace kiln::ir {
namespace {

bool is_small(const Graph &g, const Node &n) {
  if (n.op != OpKind::Matmul || !is_floating(g.type(n.result).dtype)) return false;
  const Shape &a = g.type(n.operands[0]).shape;
  const Shape &out = g.type(n.result).shape;
  if (a.size() < 2) return false;
  // Sizes may be dynamic shapes' witnesses (about ten thousand each, several multiplied):
  // a product that overflows is no small matmul.
  int64_t flops = 0, row_flops = 0;
  if (__builtin_mul_overflow(numel(out), a.back(), &flops)) return false;
  const bool narrow = out.back() <= kNarrowMatmulCols &&
                      !__builtin_mul_overflow(out.back(), a.back(), &row_flops) &&
                      row_flops <= kNarrowMatmulRowFlops;
  return flops > 0 && (flops <= kSmallMatmulFlops || narrow);
}

ValueId rewrite(Builder &b, const Node &n) {
  const Shape a = b.type(n.operands[0]).shape, bs = b.type(n.operands[1]).shape;
  const size_t rank = a.size();
  const int64_t m = a[rank - 2], k = a[rank - 1], cols = bs[rank - 1];
  Shape batch(a.begin(), a.end() - 2);
  auto with_batch = [&](std::initializer_list<int64_t> tail) {
    Shape s = batch;
    s.insert(s.end(), tail);
    return s;
  };
  ValueId lhs = b.emit(OpKind::Reshape, {n.operands[0]}, {{"shape", with_batch({m, 1, k})}});
  const int64_t r = static_cast<int64_t>(rank);
  ValueId rhs = n.operands[1];
  if (batch.empty()) {  // [k, n] -> [n, k]; a transposed weight's two permutes then cancel
    rhs = b.emit(OpKind::Permute, {rhs}, {{"perm", std::vector<int64_t>{1, 0}}});
  } else {  // [..., k, n] -> [..., 1, k, n] -> [..., 1, n, k]
    rhs = b.emit(OpKind::Reshape, {rhs}, {{"shape", with_batch({1, k, cols})}});
    std::vector<int64_t> perm;
    for (size_t d = 0; d < rank - 2; ++d) perm.push_back(static_cast<int64_t>(d));
    perm.insert(perm.end(), {r - 2, r, r - 1});
    rhs = b.emit(OpKind::Permute, {rhs}, {{"perm", perm}});
  }
  const Shape full = with_batch({m, cols, k});
  ValueId product = b.emit(OpKind::Mul, {b.broadcast(lhs, full), b.broadcast(rhs, full)});
  return b.reduce(OpKind::Sum, product, {r}, false);
}

}  // namespace

bool small_matmul(Graph &g) {
  std::vector<Node> old = std::move(g.nodes);
  g.nodes.clear();
  std::vector<ValueId> alias(g.num_values());
  for (ValueId v = 0; v < g.num_values(); ++v) alias[v] = v;
  bool changed = false;
  for (Node &n : old) {
    for (ValueId &v : n.operands) v = alias[v];
    if (!is_small(g, n)) {
      g.nodes.push_back(std::move(n));
      continue;
    }
    Builder b{g};
    ValueId result = rewrite(b, n);
    KILN_CHECK(g.type(result) == g.type(n.result), "small_matmul: type {} became {}",
               g.type(n.result).str(), g.type(result).str());
    alias[n.result] = result;
    changed = true;
  }
  for (ValueId &v : g.outputs) v = alias[v];
  return changed;
}

}  // namespace kiln::ir
