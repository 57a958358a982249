// The ORC LLJIT instance: host target detection, process symbols (libm) made visible to
// generated code, and LLVM errors turned into kiln::Error at this boundary.
#include "lowering/cpu_llvm/jit.h"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/Support/TargetSelect.h>

#include "ir/diag.h"

namespace kiln::lower::cpu {

void fail_llvm(std::string_view what, llvm::Error error) {
  fail("cpu backend: {}: {}", what, llvm::toString(std::move(error)));
}

Jit &Jit::instance() {
  // Never destroyed: compiled functions in the user's own statics may release their code
  // after every function-local static here is gone.
  static Jit *jit = new Jit();
  return *jit;
}

Jit::Jit() {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder) fail_llvm("cannot detect the host CPU", builder.takeError());
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  cpu_ = builder->getCPU();
  features_ = builder->getFeatures().getString();
  auto machine = builder->createTargetMachine();
  if (!machine) fail_llvm("cannot create a target machine", machine.takeError());
  machine_ = std::move(*machine);
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*builder).create();
  if (!jit) fail_llvm("cannot create the JIT", jit.takeError());
  jit_ = std::move(*jit);
  auto symbols = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      jit_->getDataLayout().getGlobalPrefix());
  if (!symbols) fail_llvm("cannot expose process symbols", symbols.takeError());
  jit_->getMainJITDylib().addGenerator(std::move(*symbols));
}

llvm::orc::ResourceTrackerSP Jit::add(llvm::orc::ThreadSafeModule module) {
  std::lock_guard lock(mutex_);
  auto tracker = jit_->getMainJITDylib().createResourceTracker();
  if (auto error = jit_->addIRModule(tracker, std::move(module)))
    fail_llvm("cannot add a module", std::move(error));
  return tracker;
}

void *Jit::lookup(const std::string &name) {
  std::lock_guard lock(mutex_);
  auto address = jit_->lookup(name);
  if (!address) fail_llvm("cannot find '" + name + "'", address.takeError());
  return address->toPtr<void *>();
}

}  // namespace kiln::lower::cpu
