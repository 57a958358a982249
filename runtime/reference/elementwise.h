// Eager CPU kernels for elementwise ops: unary, binary, where, and dtype conversion.
// Inputs may have any strides (broadcast inputs have stride 0); the output is contiguous.
#pragma once

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "runtime/view.h"

namespace kiln::runtime {

void unary_kernel(OpKind op, const View &in, const Attrs &attrs, const View &out);
void binary_kernel(OpKind op, const View &a, const View &b, const View &out);
void where_kernel(const View &cond, const View &a, const View &b, const View &out);
// Converts (or, for equal dtypes, copies) any strided view into a contiguous output.
void convert_kernel(const View &in, const View &out);
// Copies `in` into a destination of the same dtype and shape but any strides (cat's slices).
void copy_into(const View &in, const View &dst);

}  // namespace kiln::runtime
