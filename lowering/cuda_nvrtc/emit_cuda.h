// Kernel IR → CUDA C (issue 16, first part): one `extern "C" __global__` function per kernel,
// with the CPU kernels' signature `(args, sizes, begin, end)`. The first GPU schedule is the
// simplest correct one: each thread takes iterations of the parallel loop (a grid-stride
// loop over [begin, end)) and runs the loops inside it sequentially. Elementwise ops follow
// the CPU emitter's table (lowering/cpu_llvm/emit_op.cpp: NaN-propagating max/min,
// saturating float→int conversion, clamp bounds as eager reads them); math functions are
// CUDA's (expf, erff, …), so results agree with the CPU within rounding, not bit for bit.
// The same source compiles with NVRTC for a device and, with emulation.h's prelude, as host
// C++ (lowering/cuda_nvrtc/emulate.h).
#pragma once

#include <span>
#include <string>

#include "lowering/kernel_ir.h"

namespace kiln::lower::cuda {

// Whether the CUDA lowering takes this kernel; "" when it does, else why not (a GEMM's
// product goes to cuBLAS, which this first part does not drive).
[[nodiscard]] std::string why_not_emitted(const Kernel &k);

// One source for `kernels` (kernel i named `symbols[i]`), starting with the device prelude
// (the op helpers every kernel uses). Requires why_not_emitted(k) == "" for each.
[[nodiscard]] std::string emit_cuda(std::span<const Kernel> kernels,
                                    std::span<const std::string> symbols);

}  // namespace kiln::lower::cuda
