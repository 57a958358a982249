// The CPU backend's row in a build without LLVM (-Dllvm=disabled): marked unavailable, and
// each entry point says so, so tests and tools link the same calls either way.
#include "ir/diag.h"
#include "lowering/cpu_llvm/cpu_backend.h"

namespace kiln::lower::cpu {
namespace {

constexpr std::string_view kMissing = "this kiln was built without LLVM (-Dllvm=disabled)";

[[noreturn]] void no_llvm() { fail("cpu backend: {}: no CPU code generation", kMissing); }

}  // namespace

const Backend &backend_row() {
  static const Backend row{
      .kind = BackendKind::Cpu,
      .name = "cpu",
      .available = false,
      .missing = kMissing,
      .version = []() -> std::string { no_llvm(); },
      .host_target = []() -> Target { no_llvm(); },
      .named_target = [](std::string_view) -> Target { no_llvm(); },
      .why_cannot_run = [](const Target &) -> std::string { no_llvm(); },
      .takes = [](GroupKind) { return false; },
      .compile = [](std::span<const Kernel>, std::span<const std::string>,
                    std::span<const KernelChoices>, const Target &,
                    bool) -> ObjectCode { no_llvm(); },
      .load = [](const Artifact &) -> std::shared_ptr<const runtime::KernelCode> { no_llvm(); },
  };
  return row;
}

void inject_compile_fault(CompileFault) {}

}  // namespace kiln::lower::cpu
