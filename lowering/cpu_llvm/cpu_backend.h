// The CPU backend's entry point: kernel IR → LLVM IR → -O3 for the host CPU → ORC LLJIT.
// No LLVM type appears here; callers need not see LLVM headers.
#pragma once

#include <span>

#include "ir/kernel_ir.h"
#include "lowering/backend.h"

namespace kiln::lower::cpu {

// Compiles `kernels` as one LLVM module. Throws kiln::Error when LLVM cannot (no native
// target, a JIT failure); the message names the kernel where it can.
[[nodiscard]] CompiledKernels compile_kernels(std::span<const ir::Kernel> kernels,
                                              const KernelCompileOptions &options = {});

// The host CPU as LLVM names it, e.g. "sapphirerapids".
[[nodiscard]] std::string host_cpu_name();

// Bytes in one of the host's vector registers: 64 with AVX-512, else 32.
[[nodiscard]] int64_t host_vector_bytes();

}  // namespace kiln::lower::cpu
