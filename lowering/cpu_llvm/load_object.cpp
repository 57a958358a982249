// Loading an artifact's object: a JITDylib of its own, the object linked into it, each
// kernel's symbol looked up. The code lives as long as the LlvmCode (every Program that runs
// it holds one), then the JITDylib and its memory are removed.
#include <llvm/Support/MemoryBuffer.h>

#include <new>
#include <optional>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "ir/diag.h"
#include "lowering/cpu_llvm/jit.h"
#include "lowering/cpu_llvm/object_parts.h"
#include "runtime/cpu_code.h"

namespace kiln::lower::cpu {
namespace {

class LlvmCode final : public runtime::CpuCode {
 public:
  explicit LlvmCode(llvm::orc::JITDylib &dylib) : dylib_(&dylib) {}
  ~LlvmCode() override {
    if (dylib_ != nullptr) Jit::instance().remove(*dylib_);
  }
  void add(void *entry) { entries_.push_back(entry); }
  // After an exception out of ORC, a lookup's query may still be registered with this
  // dylib's symbols, holding a pointer into a stack frame that is gone: removing the dylib
  // would fail that query through the dead pointer (issue 12's segfault). It is leaked.
  void abandon() { dylib_ = nullptr; }

 private:
  llvm::orc::JITDylib *dylib_;
};

}  // namespace

std::shared_ptr<const runtime::KernelCode> load_object(const Artifact &artifact) {
  if (std::string why = why_host_cannot_run(artifact.target); !why.empty())
    fail("cpu backend: cannot load '{}': {}", artifact.name, why);
  Jit &jit = Jit::instance();
  const CompileFault fault = take_injected_fault(CompileFault::Materialize) != CompileFault::None
                                 ? CompileFault::Materialize
                                 : take_injected_fault(CompileFault::MissingSymbol);
#if defined(__SANITIZE_ADDRESS__)
  std::optional<__lsan::ScopedDisabler> deliberate_leaks;  // see compile_object.cpp
  if (fault != CompileFault::None) deliberate_leaks.emplace();
#endif
  llvm::orc::JITDylib &dylib = jit.new_dylib();
  auto code = std::make_shared<LlvmCode>(dylib);
  try {
    for (std::string_view object : split_object_parts(artifact.object))
      jit.add_object(dylib, llvm::MemoryBuffer::getMemBufferCopy(
                                llvm::StringRef(object.data(), object.size()), "kiln.o"));
    if (fault == CompileFault::Materialize) {
      jit.add_failing_symbol(dylib, "kiln.fault");
      (void)jit.lookup(dylib, "kiln.fault");
    }
    if (fault == CompileFault::MissingSymbol) (void)jit.lookup(dylib, "kiln.missing");
    for (const ArtifactKernel &k : artifact.kernels) code->add(jit.lookup(dylib, k.symbol));
  } catch (const Error &) {
    throw;  // an llvm::Error: ORC is whole, and removing the dylib frees what was added
  } catch (const std::bad_alloc &) {
    code->abandon();
    fail("cpu backend: out of memory while linking '{}'", artifact.name);
  } catch (const std::exception &e) {
    code->abandon();
    fail("cpu backend: the JIT failed while linking '{}': {}", artifact.name, e.what());
  }
  return code;
}

}  // namespace kiln::lower::cpu
