// Constant folding: elementwise ops whose operands are all constants (a `full`, or a
// broadcast of one), and movement ops of a constant, become a constant: a `full` when the
// result has at most one element, else broadcast(full[]) — a view, never a filled buffer.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Requires a verified graph. Guarantees no foldable node is left; folded values equal the
// eager kernels' (floats computed in double and rounded once, integers exact). Nodes are
// rewritten in place, so the inputs of a fold may be left dead for dce.
[[nodiscard]] bool fold_constants(Graph &g);

}  // namespace kiln::ir
