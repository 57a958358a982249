// Reshapes sink below elementwise ops: f(reshape(x)) becomes reshape(f(x)), so that the op
// lands on x's own shape. A linear layer on a [batch, seq, d] input is a matmul on
// [batch*seq, d] reshaped back; its activation then reads the matmul's result directly
// and fuses into the GEMM's epilogue instead of running as a kernel of its own.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Requires a verified graph. Rewrites an elementwise node when one operand is reshape(x)
// and every other operand is reshape(y) with y of x's shape, or a broadcast whose source
// lands on the same elements in x's shape (a scalar, or a source spanning trailing dims that
// x's shape and the node's share). Values are unchanged; leftover reshape pairs are for
// simplify to fold.
[[nodiscard]] bool sink_reshapes(Graph &g);

}  // namespace kiln::ir
