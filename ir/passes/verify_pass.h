// The `verify` pass: runs the verifier (ir/verify.h) as a pipeline step.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Throws kiln::Error when g is malformed. Requires nothing; changes nothing (returns false).
[[nodiscard]] bool verify_pass(Graph &g);

}  // namespace kiln::ir
