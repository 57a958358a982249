// Dead code elimination: drops every node whose result no output needs, directly or
// through other nodes. Every op is pure, so nothing else keeps a node alive.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Requires a verified graph. Guarantees every remaining node's result is used by an output
// (transitively); node order and value ids are unchanged.
[[nodiscard]] bool dce(Graph &g);

}  // namespace kiln::ir
