// The variants each kernel kind declares over the Choices (lowering/choices.h): a GEMM's
// register tile and blocking, and which of its loops threads split; a pointwise or row kernel's
// registers per value, streaming stores, rows of scratch and parallel grain. The first variant is
// always the base (the heuristic), the one every other is checked against. A backend adds its own
// knobs here when it has them.
#pragma once

#include <vector>

#include "autotune/tune.h"
#include "lowering/kernel_ir.h"

namespace kiln::autotune {

[[nodiscard]] std::vector<lower::KernelChoices> variant_space(const lower::Kernel &k,
                                                              const lower::Target &target,
                                                              const lower::KernelChoices &base,
                                                              Mode mode, int threads);

}  // namespace kiln::autotune
