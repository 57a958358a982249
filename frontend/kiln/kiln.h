// The one header a kiln user includes.
#pragma once

#include "ir/diag.h"
#include "kiln/compile.h"
#include "kiln/ops.h"
#include "kiln/scalar.h"
#include "kiln/tensor.h"

namespace kiln {

// Threads used by eager kernels (KILN_NUM_THREADS at start-up; default: all cores).
[[nodiscard]] int num_threads();
void set_num_threads(int n);

}  // namespace kiln
