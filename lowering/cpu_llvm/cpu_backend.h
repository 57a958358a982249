// The CPU backend's entry point: kernel IR → LLVM IR → -O3 for a CPU target → object code →
// ORC LLJIT. No LLVM type appears here; callers need not see LLVM headers. The target is the
// host's unless set_target names a lesser one the host can run (tests run AVX2 code on
// AVX-512 hosts that way).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "lowering/backend.h"
#include "lowering/kernel_ir.h"

namespace kiln::lower::cpu {

// What generated code is for: a CPU as LLVM names it, its features, and the vector width
// that follows (lowering/schedule.h sizes GEMM tiles with it).
struct CpuTarget {
  std::string cpu;           // "znver3", "x86-64-v3"
  std::string features;      // "+avx,+avx2,-avx512f,…": every feature LLVM detects on hosts
  int64_t vector_bytes = 0;  // 64 with AVX-512F, 32 with AVX, else 16
};

// The AVX2 level every AVX2 host runs (AVX2, FMA, BMI2): the lesser target of the tests.
inline constexpr std::string_view kAvx2Cpu = "x86-64-v3";

// The host as LLVM detects it. Throws kiln::Error when the host has no usable LLVM target.
[[nodiscard]] CpuTarget host_target();
// What compile_kernels generates code for unless told otherwise: set_target's, else the host.
[[nodiscard]] CpuTarget current_target();
// From now on (process-wide) generate code for `cpu`, e.g. kAvx2Cpu; "" names the host again.
// Returns the target now in force. Throws kiln::Error for a CPU LLVM does not know, or one
// whose code the host cannot run (it lacks a feature the CPU has).
CpuTarget set_target(std::string_view cpu);

// Compiles `kernels` as one LLVM module for `target` (which must come from host_target,
// current_target or set_target). Throws kiln::Error when LLVM cannot: no native target, a
// JIT failure, memory running out (LLVM's state after that is leaked, never destroyed, and
// the JIT stays usable); the message names the kernels.
[[nodiscard]] CompiledKernels compile_kernels(std::span<const lower::Kernel> kernels,
                                              const KernelCompileOptions &options,
                                              const CpuTarget &target);
[[nodiscard]] CompiledKernels compile_kernels(std::span<const lower::Kernel> kernels,
                                              const KernelCompileOptions &options = {});

// The host CPU as LLVM names it, e.g. "sapphirerapids".
[[nodiscard]] std::string host_cpu_name();

// Testing only: the next compile_kernels call (any thread) fails as it would when LLVM runs
// out of memory, at one stage: inside a code generation pass (LLVM's allocation-failure
// handler), or inside the JIT's lookup while it materializes (an exception through ORC, the
// way issue 12's W1 under `ulimit -v` failed), or with an ORC lookup error (no such symbol).
enum class CompileFault { None, Codegen, Materialize, MissingSymbol };
void inject_compile_fault(CompileFault fault);

}  // namespace kiln::lower::cpu
