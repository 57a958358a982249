// Eager CPU kernels for reductions (sum, mean, max, min, prod, argmax, argmin, var, std,
// all, any, logsumexp) over any set of dims.
#pragma once

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "runtime/view.h"

namespace kiln::runtime {

void reduce_kernel(OpKind op, const View &in, const Attrs &attrs, const View &out);

}  // namespace kiln::runtime
