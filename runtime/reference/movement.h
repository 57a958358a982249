// Eager CPU kernels for movement ops when they must copy (eager mode prefers views):
// the input is re-viewed with ir/layout.h's rules and copied contiguous; cat copies
// each input into its slice of the output.
#pragma once

#include <span>

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "runtime/view.h"

namespace kiln::runtime {

void movement_kernel(OpKind op, std::span<const View> in, const Attrs &attrs, const View &out);

}  // namespace kiln::runtime
