// A graph as Graphviz DOT text, for people who would rather look than read: each value a
// node labelled with its op and type, graph inputs and outputs drawn apart, and with a
// fusion plan each generated kernel a coloured cluster ("k3 row"), the steps the runtime
// runs itself (library steps) dashed. `dot -Tsvg` lays it out top to bottom.
#pragma once

#include <string>

#include "ir/graph.h"
#include "lowering/fusion.h"

namespace kiln::lower {

// `plan` may be null: the graph without kernels.
[[nodiscard]] std::string graph_dot(const ir::Graph &g, const FusionPlan *plan);

}  // namespace kiln::lower
