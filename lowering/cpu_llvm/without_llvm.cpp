// The CPU backend's entry points in a build without LLVM (-Dllvm=disabled): each says so,
// so tests and tools link the same calls either way and skip what needs code generation.
#include "ir/diag.h"
#include "lowering/cpu_llvm/cpu_backend.h"

namespace kiln::lower::cpu {
namespace {

[[noreturn]] void no_llvm() {
  fail("cpu backend: this kiln was built without LLVM (-Dllvm=disabled): no CPU code generation");
}

}  // namespace

CpuTarget host_target() { no_llvm(); }
CpuTarget current_target() { no_llvm(); }
CpuTarget set_target(std::string_view) { no_llvm(); }
std::string host_cpu_name() { no_llvm(); }
void inject_compile_fault(CompileFault) {}
CompiledKernels compile_kernels(std::span<const lower::Kernel>, const KernelCompileOptions &,
                                const CpuTarget &) {
  no_llvm();
}
CompiledKernels compile_kernels(std::span<const lower::Kernel>, const KernelCompileOptions &) {
  no_llvm();
}

}  // namespace kiln::lower::cpu
