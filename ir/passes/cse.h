// Common subexpression elimination: a node with the same op, operands and attributes as
// an earlier node is replaced by that node's result. Every op is pure, so this is exact.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Requires a verified graph. Guarantees no two nodes share (op, operands, attrs), with the
// operands of commutative ops (add, mul, maximum, minimum, eq, ne, logical_and,
// logical_or) compared as a set. Duplicates are left dead for dce.
[[nodiscard]] bool cse(Graph &g);

}  // namespace kiln::ir
