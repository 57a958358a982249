// The one LLVM wrapper header: the process-wide ORC LLJIT (one JITDylib per loaded artifact,
// so artifacts whose symbols coincide load side by side), the CPU targets code is generated
// for, and the LLVM headers the CPU backend's .cpp files share. Included only by
// lowering/cpu_llvm/*.cpp.
#pragma once

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>
#include <mutex>
#include <string>

#include "lowering/cpu_llvm/cpu_backend.h"
#include "lowering/target.h"

namespace kiln::lower::cpu {

class Jit {
 public:
  // Created on first use; throws kiln::Error when the host has no usable LLVM target.
  static Jit &instance();

  [[nodiscard]] const Target &host() const { return host_; }
  // The named CPU with features in the host's form; "" is the host. Throws kiln::Error for
  // a CPU LLVM does not know.
  [[nodiscard]] Target named(std::string_view cpu) const;

  // A target machine of its own for one compile (they are not safe to share between
  // threads), with the relocation and code model the JIT links.
  [[nodiscard]] std::unique_ptr<llvm::TargetMachine> machine(const Target &target);

  // A new, empty JITDylib that sees the process's symbols (libm); removing it frees the code
  // added to it.
  [[nodiscard]] llvm::orc::JITDylib &new_dylib();
  void remove(llvm::orc::JITDylib &dylib);
  // Adds a relocatable object to `dylib`.
  void add_object(llvm::orc::JITDylib &dylib, std::unique_ptr<llvm::MemoryBuffer> object);
  // Defines `name` in `dylib` as a symbol whose materialization throws std::bad_alloc
  // (CompileFault::Materialize).
  void add_failing_symbol(llvm::orc::JITDylib &dylib, const std::string &name);
  // The address of a function added earlier; throws kiln::Error if it is missing. Any other
  // exception out of here has unwound through ORC, built without exceptions: the lookup's
  // query may still point into the dead stack, so its dylib must never be removed.
  [[nodiscard]] void *lookup(llvm::orc::JITDylib &dylib, const std::string &name);

 private:
  Jit();
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  llvm::orc::JITTargetMachineBuilder host_builder_;
  Target host_;
  int64_t dylibs_ = 0;  // names each JITDylib uniquely (never part of generated code)
  std::mutex mutex_;
};

// An LLVM error as a kiln::Error with context ("jit: cannot add module: ...").
[[noreturn]] void fail_llvm(std::string_view what, llvm::Error error);

// Bytes in one vector register of a CPU with these LLVM features: 64 with AVX-512F, 32 with
// AVX, else 16 (SSE, NEON).
[[nodiscard]] int64_t vector_bytes(const std::string &features);

// "" when this host runs code for `target`, else why not ("it lacks avx512f, ...").
[[nodiscard]] std::string why_host_cannot_run(const Target &target);

// The injected fault (inject_compile_fault) if it is `kind`, which it clears; else None.
[[nodiscard]] CompileFault take_injected_fault(CompileFault kind);

// The row's compile and load (compile_object.cpp, load_object.cpp).
[[nodiscard]] ObjectCode compile_object(std::span<const Kernel> kernels,
                                        std::span<const std::string> symbols,
                                        std::span<const KernelChoices> choices,
                                        const Target &target, bool keep_text);
[[nodiscard]] std::shared_ptr<const runtime::KernelCode> load_object(const Artifact &artifact);

}  // namespace kiln::lower::cpu
