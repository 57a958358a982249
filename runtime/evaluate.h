// The reference evaluator: runs any ir::Graph with the eager kernels, node by node. It is
// the oracle for every later lowering, and compile()'s execution path until one exists.
#pragma once

#include <span>
#include <vector>

#include "ir/graph.h"
#include "runtime/array.h"

namespace kiln::runtime {

// inputs[i] binds g.inputs[i]; their types must equal the graph's input types (throws
// kiln::Error naming the input otherwise). Intermediates are freed after their last use.
[[nodiscard]] std::vector<Array> evaluate(const ir::Graph &g, std::span<const Array> inputs);

}  // namespace kiln::runtime
