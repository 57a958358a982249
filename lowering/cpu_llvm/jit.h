// The one LLVM wrapper header: the process-wide ORC LLJIT, the CPU targets code is generated
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

namespace kiln::lower::cpu {

class Jit {
 public:
  // Created on first use; throws kiln::Error when the host has no usable LLVM target.
  static Jit &instance();

  [[nodiscard]] const CpuTarget &host() const { return host_; }
  [[nodiscard]] CpuTarget current();
  CpuTarget set_current(std::string_view cpu);

  // A target machine of its own for one compile (they are not safe to share between
  // threads), with the relocation and code model the JIT links.
  [[nodiscard]] std::unique_ptr<llvm::TargetMachine> machine(const CpuTarget &target);

  // A new resource tracker: removing it frees the code added under it.
  [[nodiscard]] llvm::orc::ResourceTrackerSP tracker();
  // Adds a relocatable object under `tracker`.
  void add_object(const llvm::orc::ResourceTrackerSP &tracker,
                  std::unique_ptr<llvm::MemoryBuffer> object);
  // Defines `name` under `tracker` as a symbol whose materialization throws std::bad_alloc
  // (CompileFault::Materialize).
  void add_failing_symbol(const llvm::orc::ResourceTrackerSP &tracker, const std::string &name);
  // The address of a function added earlier; throws kiln::Error if it is missing. Any other
  // exception out of here has unwound through ORC, built without exceptions: the lookup's
  // query may still point into the dead stack, so its tracker must never be removed.
  [[nodiscard]] void *lookup(const std::string &name);

 private:
  Jit();
  [[nodiscard]] CpuTarget resolve(std::string_view cpu) const;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  llvm::orc::JITTargetMachineBuilder host_builder_;
  CpuTarget host_, current_;
  std::mutex mutex_;
};

// An LLVM error as a kiln::Error with context ("jit: cannot add module: ...").
[[noreturn]] void fail_llvm(std::string_view what, llvm::Error error);

// Bytes in one vector register of a CPU with these LLVM features: 64 with AVX-512F, 32 with
// AVX, else 16 (SSE, NEON).
[[nodiscard]] int64_t vector_bytes(const std::string &features);

}  // namespace kiln::lower::cpu
