// The eager CPU kernel of every op: one entry point, one exhaustive switch over the op
// table. The frontend calls it in eager mode; the reference evaluator will call it too.
#pragma once

#include <span>

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "runtime/view.h"

namespace kiln::runtime {

// Computes op(inputs) into `out`, which is contiguous, correctly typed and sized (by
// infer_type). Inputs may have any strides. Throws kiln::Error for data-dependent errors
// (an index out of range, integer division by zero).
void run_kernel(OpKind op, std::span<const View> inputs, const Attrs &attrs, const View &out);

// Which kernel family implements op: used by the op-table test to prove every row has one.
enum class KernelFamily { Source, Unary, Binary, Where, Reduce, Matmul, Movement, Nn };
[[nodiscard]] KernelFamily kernel_family(OpKind op);

}  // namespace kiln::runtime
