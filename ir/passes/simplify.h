// Algebraic simplification: local rewrites from the rule tables in simplify_arith.cpp,
// simplify_movement.cpp and simplify_convert.cpp, applied until none fires.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Requires a verified graph. Guarantees no rule applies anywhere and every value keeps its
// type. Replaced nodes are removed; their operands may be left dead for dce.
[[nodiscard]] bool simplify(Graph &g);

}  // namespace kiln::ir
