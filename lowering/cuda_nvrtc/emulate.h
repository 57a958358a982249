// Emulation: the exact CUDA C the lowering generates (emit_cuda.h), compiled as host C++
// with a small prelude that provides threadIdx, blockIdx, blockDim and gridDim, and run on
// the CPU as a grid of 3 blocks of 4 threads (each emulated thread runs its share of the
// grid-stride loop in turn). It proves the generated source's indexing and op semantics
// without a GPU; it says nothing of timing, occupancy or the device memory model, and the
// schedule uses no shared memory or barriers yet, so none are emulated.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "runtime/program.h"

namespace kiln::lower::cuda {

// Compiles `source` (of emit_cuda) with the host's C++ compiler ($CXX, else c++) into a
// shared object and loads it: kernel i of the result runs `symbols[i]`. Throws kiln::Error
// with the compiler's output when it fails.
[[nodiscard]] std::shared_ptr<const runtime::KernelCode> load_emulated(
    const std::string &source, std::span<const std::string> symbols);

}  // namespace kiln::lower::cuda
