// The one LLVM wrapper header: the process-wide ORC LLJIT for the host CPU and the LLVM
// headers the CPU backend's .cpp files share. Included only by lowering/cpu_llvm/*.cpp.
#pragma once

#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>
#include <mutex>
#include <string>

namespace kiln::lower::cpu {

class Jit {
 public:
  // Created on first use; throws kiln::Error when the host has no usable LLVM target.
  static Jit &instance();

  [[nodiscard]] llvm::TargetMachine &target_machine() { return *machine_; }
  [[nodiscard]] const std::string &cpu() const { return cpu_; }
  [[nodiscard]] const std::string &features() const { return features_; }

  // Adds a module under its own resource tracker, so removing the tracker frees its code.
  [[nodiscard]] llvm::orc::ResourceTrackerSP add(llvm::orc::ThreadSafeModule module);
  // The address of a function added earlier; throws kiln::Error if it is missing.
  [[nodiscard]] void *lookup(const std::string &name);

 private:
  Jit();
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::unique_ptr<llvm::TargetMachine> machine_;
  std::string cpu_, features_;
  std::mutex mutex_;
};

// An LLVM error as a kiln::Error with context ("jit: cannot add module: ...").
[[noreturn]] void fail_llvm(std::string_view what, llvm::Error error);

}  // namespace kiln::lower::cpu
