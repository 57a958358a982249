// The verifier: every operand is defined before its use, op arity and attributes are
// valid, and each recorded result type equals the op's type rule (ir/infer.h). Errors
// quote the instruction: "@f: %2: f32[32,128] = add %0, %1: operand types differ: ...".
#pragma once

#include <span>
#include <string>

#include "ir/graph.h"

namespace kiln::ir {

// Throws kiln::Error naming the graph, the instruction and the problem.
void verify(const Graph &g);

// What is wrong with one instruction apart from its operands' definitions: operand count,
// attribute names and kinds, the op's type rule (its message without the "<op>: " prefix)
// and the recorded result type. Empty when nothing is. The parser reports it with a position.
[[nodiscard]] std::string node_problem(OpKind op, std::span<const TensorType> operands,
                                       const Attrs &attrs, const TensorType &result);

}  // namespace kiln::ir
