// The ORC LLJIT instance: host target detection and named lesser targets, process symbols
// (libm) made visible to generated code, and LLVM errors turned into kiln::Error at this
// boundary.
#include "lowering/cpu_llvm/jit.h"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/TargetSelect.h>

#include <new>
#include <set>

#include "ir/diag.h"

namespace kiln::lower::cpu {
namespace {

llvm::orc::JITTargetMachineBuilder detect_host() {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder) fail_llvm("cannot detect the host CPU", builder.takeError());
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  // What LLJIT itself sets for JITLink; kiln generates the objects, so it must match.
  builder->setRelocationModel(llvm::Reloc::PIC_);
  builder->setCodeModel(llvm::CodeModel::Small);
  return std::move(*builder);
}

// LLVM reports running out of memory through this handler; by default it aborts the
// process. An exception instead unwinds to compile_object, which leaks LLVM's half-built
// state and throws kiln::Error (LLVM is built without exceptions but with unwind tables).
void throw_bad_alloc(void *, const char *, bool) { throw std::bad_alloc(); }

// A symbol whose materialization fails the way an allocation inside ORC does.
class FailingUnit : public llvm::orc::MaterializationUnit {
 public:
  explicit FailingUnit(llvm::orc::SymbolStringPtr name)
      : MaterializationUnit(
            Interface({{std::move(name), llvm::JITSymbolFlags::Exported}}, nullptr)) {}
  llvm::StringRef getName() const override { return "kiln-injected-fault"; }
  void materialize(std::unique_ptr<llvm::orc::MaterializationResponsibility>) override {
    throw std::bad_alloc();
  }

 private:
  void discard(const llvm::orc::JITDylib &, const llvm::orc::SymbolStringPtr &) override {}
};

}  // namespace

void fail_llvm(std::string_view what, llvm::Error error) {
  fail("cpu backend: {}: {}", what, llvm::toString(std::move(error)));
}

int64_t vector_bytes(const std::string &features) {
  // Whole entries only: "+avx" must not match the start of "+avx2" and stop looking.
  auto has = [&](std::string_view f) {
    std::string_view rest = features;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      if (rest.substr(0, comma) == f) return true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    return false;
  };
  return has("+avx512f") ? 64 : has("+avx") ? 32 : 16;
}

Jit &Jit::instance() {
  // Never destroyed: compiled functions in the user's own statics may release their code
  // after every function-local static here is gone.
  static Jit *jit = [] {
    try {
      return new Jit();
    } catch (const std::bad_alloc &) {  // the next call tries again
      fail("cpu backend: out of memory while starting the JIT");
    }
  }();
  return *jit;
}

Jit::Jit() : host_builder_(detect_host()) {
  static const bool handled = (llvm::install_bad_alloc_error_handler(throw_bad_alloc), true);
  (void)handled;
  host_.triple = host_builder_.getTargetTriple().str();
  host_.cpu = host_builder_.getCPU();
  host_.features = host_builder_.getFeatures().getString();
  host_.vector_bytes = vector_bytes(host_.features);
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(host_builder_).create();
  if (!jit) fail_llvm("cannot create the JIT", jit.takeError());
  jit_ = std::move(*jit);
  auto symbols = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      jit_->getDataLayout().getGlobalPrefix());
  if (!symbols) fail_llvm("cannot expose process symbols", symbols.takeError());
  jit_->getMainJITDylib().addGenerator(std::move(*symbols));
}

// The named CPU with a feature string in the host's form: every feature the host detection
// names, + where the CPU has it. Code for it runs here only if it needs nothing the host
// lacks (lower::why_cannot_run).
Target Jit::named(std::string_view cpu) const {
  if (cpu.empty()) return host_;
  const llvm::Triple &triple = host_builder_.getTargetTriple();
  std::string problem;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple.str(), problem);
  if (target == nullptr) fail("cpu backend: no LLVM target for '{}': {}", triple.str(), problem);
  // Asked of the host's subtarget first: LLVM warns on stderr when it creates an unknown one.
  std::unique_ptr<llvm::MCSubtargetInfo> host(
      target->createMCSubtargetInfo(triple.str(), host_.cpu, ""));
  if (host == nullptr || !host->isCPUStringValid(llvm::StringRef(cpu)))
    fail("cpu backend: unknown CPU target '{}'\n  hint: 'llc -mcpu=help' lists the CPUs LLVM knows",
         cpu);
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple.str(), llvm::StringRef(cpu), ""));
  std::set<std::string, std::less<>> known;
  for (const llvm::SubtargetFeatureKV &kv : info->getAllProcessorFeatures()) known.insert(kv.Key);
  Target out{.triple = host_.triple, .cpu = std::string(cpu)};
  for (const std::string &entry : host_builder_.getFeatures().getFeatures()) {
    const std::string name = entry.substr(1);
    if (!known.contains(name)) continue;
    const bool has = info->checkFeatures("+" + name);
    out.features += fmt::format("{}{}{}", out.features.empty() ? "" : ",", has ? '+' : '-', name);
  }
  out.vector_bytes = vector_bytes(out.features);
  return out;
}

std::unique_ptr<llvm::TargetMachine> Jit::machine(const Target &target) {
  llvm::orc::JITTargetMachineBuilder builder{llvm::Triple(target.triple)};
  builder.setCPU(target.cpu)
      .setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive)
      .setRelocationModel(llvm::Reloc::PIC_)
      .setCodeModel(llvm::CodeModel::Small);
  builder.getFeatures() = llvm::SubtargetFeatures(target.features);
  auto machine = builder.createTargetMachine();
  if (!machine) fail_llvm("cannot create a target machine", machine.takeError());
  return std::move(*machine);
}

llvm::orc::JITDylib &Jit::new_dylib() {
  std::lock_guard lock(mutex_);
  auto dylib = jit_->getExecutionSession().createJITDylib(fmt::format("kiln{}", dylibs_++));
  if (!dylib) fail_llvm("cannot create a JITDylib", dylib.takeError());
  dylib->addToLinkOrder(jit_->getMainJITDylib());  // its generator finds libm and the process
  return *dylib;
}

void Jit::remove(llvm::orc::JITDylib &dylib) {
  std::lock_guard lock(mutex_);
  if (auto error = jit_->getExecutionSession().removeJITDylib(dylib))
    llvm::consumeError(std::move(error));
}

void Jit::add_object(llvm::orc::JITDylib &dylib, std::unique_ptr<llvm::MemoryBuffer> object) {
  std::lock_guard lock(mutex_);
  if (auto error = jit_->addObjectFile(dylib, std::move(object)))
    fail_llvm("cannot add an object", std::move(error));
}

void Jit::add_failing_symbol(llvm::orc::JITDylib &dylib, const std::string &name) {
  std::lock_guard lock(mutex_);
  if (auto error = dylib.define(std::make_unique<FailingUnit>(jit_->mangleAndIntern(name))))
    fail_llvm("cannot define '" + name + "'", std::move(error));
}

void *Jit::lookup(llvm::orc::JITDylib &dylib, const std::string &name) {
  std::lock_guard lock(mutex_);
  auto address = jit_->lookup(dylib, name);
  if (!address) fail_llvm("cannot find '" + name + "'", address.takeError());
  return address->toPtr<void *>();
}

}  // namespace kiln::lower::cpu
