// Eager CPU matmul: [..., m, k] x [..., k, n] with equal batch dims, any strides.
#pragma once

#include "runtime/view.h"

namespace kiln::runtime {

void matmul_kernel(const View &a, const View &b, const View &out);

}  // namespace kiln::runtime
