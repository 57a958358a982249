// Constant folding: elementwise ops whose operands are all `full` nodes, and movement ops
// (reshape, broadcast, permute, slice) of a `full`, become one `full` of the result type.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Requires a verified graph. Guarantees no foldable node is left; folded values equal the
// eager kernels' (floats computed in double and rounded once, integers exact). Nodes are
// rewritten in place, so the inputs of a fold may be left dead for dce.
[[nodiscard]] bool fold_constants(Graph &g);

}  // namespace kiln::ir
