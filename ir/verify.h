// The verifier: every operand is defined before its use, op arity and attributes are
// valid, and each recorded result type equals the op's type rule (ir/infer.h). Errors
// quote the instruction: "@f: %2: f32[32,128] = add %0, %1: operand types differ: ...".
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Throws kiln::Error naming the graph, the instruction and the problem.
void verify(const Graph &g);

}  // namespace kiln::ir
