// Eager CPU kernels for source ops (full, arange, linspace, eye, rand, randn, randint).
#pragma once

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "runtime/view.h"

namespace kiln::runtime {

void source_kernel(OpKind op, const Attrs &attrs, const View &out);

}  // namespace kiln::runtime
