// Size substitution: the one way a shape-generic ("dynamic") graph becomes concrete. A
// dynamic trace runs at witness sizes (odd values no program uses, one per symbol); every
// dim or integer attribute equal to a witness stands for that symbol, and replacing the
// witnesses by a call's sizes gives the graph for that call.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ir/attrs.h"
#include "ir/graph.h"
#include "ir/shape.h"
#include "ir/sym_expr.h"

namespace kiln::ir {

// Witness sizes of `n` symbols, set 0, 1 or 2: odd numbers (about ten thousand) real shapes
// rarely use. Set 0 is what IR text spells s0, s1, …: the parser reads `s1` as set 0's second.
[[nodiscard]] std::vector<int64_t> witness_sizes(int n, int set);

// from[k] -> to[k] for every k; values matching no witness are kept.
struct SizeMap {
  std::span<const int64_t> from, to;
  [[nodiscard]] int64_t operator()(int64_t v) const;
};

[[nodiscard]] Shape substitute(const Shape &shape, const SizeMap &map);
[[nodiscard]] Attrs substitute(const Attrs &attrs, const SizeMap &map);
[[nodiscard]] Graph substitute(const Graph &g, const SizeMap &map);

// IR text with each witness written as its symbol (s0, s1, …) where it stands alone as a
// number: what logs, dumps and explain() show for a dynamic graph. With `multiples`, a
// multiple of one witness is written `8*s0` too (kiln-opt's kernels of a symbolic graph).
// `derived` sizes (ir::derived_sizes) that are products, as `4*s0` or `s0*s1`, print so too.
[[nodiscard]] std::string symbolize_text(std::string_view text, std::span<const int64_t> witnesses,
                                         bool multiples = false,
                                         std::span<const SymExpr> derived = {});

}  // namespace kiln::ir
