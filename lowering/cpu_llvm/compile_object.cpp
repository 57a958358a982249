// The CPU backend's compile of a batch of kernels: emit one module for the target, verify
// it, run the -O3 pipeline and generate a relocatable object, as bytes. Text forms (IR
// before/after, assembly) are produced only when asked. Nothing here depends on the process:
// the same kernels, symbols, choices and target give the same bytes. LLVM is built without
// exceptions: when an allocation fails inside it, what it was building is leaked, not
// destroyed, and the caller gets a kiln::Error.
#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/PassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Pass.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <atomic>
#include <chrono>
#include <new>
#include <optional>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "ir/diag.h"
#include "lowering/cpu_llvm/cpu_backend.h"
#include "lowering/cpu_llvm/emit_gemm.h"
#include "lowering/cpu_llvm/emit_kernel.h"
#include "lowering/cpu_llvm/jit.h"

namespace kiln::lower::cpu {
namespace {

// A little memory held back while compiling and freed when memory runs out, so that the
// out-of-memory message itself can still be built (it was std::bad_alloc in 2 of 49 limits).
constexpr size_t kReserveBytes = size_t{64} << 10;
std::atomic<char *> reserve{nullptr};

void hold_reserve() {
  if (reserve.load() != nullptr) return;
  char *fresh = new (std::nothrow) char[kReserveBytes];
  char *none = nullptr;
  if (!reserve.compare_exchange_strong(none, fresh)) delete[] fresh;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string module_text(const llvm::Module &m) {
  std::string text;
  llvm::raw_string_ostream out(text);
  m.print(out, nullptr);
  return text;
}

// CompileFault::Codegen: runs inside the code generation passes and fails as LLVM does when
// an allocation fails there.
struct FailingPass : llvm::ModulePass {
  static char ID;
  FailingPass() : ModulePass(ID) {}
  bool runOnModule(llvm::Module &) override {
    llvm::report_bad_alloc_error("kiln: injected fault");
  }
};
char FailingPass::ID = 0;

// Everything LLVM builds for one batch, on the heap: deleted after success or after an
// llvm::Error, leaked after an exception out of LLVM code (no destructor ran on its way out,
// so any of it may be half-updated). Members are destroyed bottom-up: passes before the
// module, the module before its context.
struct Build {
  llvm::LLVMContext context;
  std::unique_ptr<llvm::TargetMachine> machine;
  std::unique_ptr<llvm::Module> module;
  std::unique_ptr<llvm::PassBuilder> pass_builder;
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::SmallVector<char, 0> object;
  std::unique_ptr<llvm::raw_svector_ostream> object_stream;
  std::unique_ptr<llvm::legacy::PassManager> codegen;
  std::unique_ptr<llvm::Module> assembly_copy;
  std::unique_ptr<llvm::legacy::PassManager> assembly_passes;
};

void optimize(Build &b) {
  b.pass_builder = std::make_unique<llvm::PassBuilder>(b.machine.get());
  llvm::PassBuilder &builder = *b.pass_builder;
  builder.registerModuleAnalyses(b.mam);
  builder.registerCGSCCAnalyses(b.cgam);
  builder.registerFunctionAnalyses(b.fam);
  builder.registerLoopAnalyses(b.lam);
  builder.crossRegisterProxies(b.lam, b.fam, b.cgam, b.mam);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(*b.module, b.mam);
}

std::string assembly(Build &b) {
  b.assembly_copy = llvm::CloneModule(*b.module);
  llvm::SmallString<0> text;
  llvm::raw_svector_ostream out(text);
  b.assembly_passes = std::make_unique<llvm::legacy::PassManager>();
  if (b.machine->addPassesToEmitFile(*b.assembly_passes, out, nullptr,
                                     llvm::CodeGenFileType::AssemblyFile))
    return "; this target cannot print assembly\n";
  b.assembly_passes->run(*b.assembly_copy);
  b.assembly_passes.reset();
  b.assembly_copy.reset();
  return std::string(text.str());
}

void emit_object(Build &b, bool fail_inside) {
  b.object_stream = std::make_unique<llvm::raw_svector_ostream>(b.object);
  b.codegen = std::make_unique<llvm::legacy::PassManager>();
  if (fail_inside) b.codegen->add(new FailingPass());
  if (b.machine->addPassesToEmitFile(*b.codegen, *b.object_stream, nullptr,
                                     llvm::CodeGenFileType::ObjectFile))
    fail("cpu backend: target '{}' cannot emit object files", b.machine->getTargetCPU().str());
  b.codegen->run(*b.module);
}

// "kernel 'f.k0'" or "3 kernels ('f.k0', 'f.k1', 'f.k2')".
std::string kernel_names(std::span<const lower::Kernel> kernels) {
  if (kernels.size() == 1) return fmt::format("kernel '{}'", kernels[0].name);
  std::string names;
  for (const lower::Kernel &k : kernels)
    names += fmt::format("{}'{}'", names.empty() ? "" : ", ", k.name);
  return fmt::format("{} kernels ({})", kernels.size(), names);
}

[[noreturn]] void fail_out_of_memory(std::span<const lower::Kernel> kernels) {
  delete[] reserve.exchange(nullptr);
  fail("cpu backend: out of memory while generating code for {}", kernel_names(kernels));
}

}  // namespace

ObjectCode compile_object(std::span<const Kernel> kernels, std::span<const std::string> symbols,
                          std::span<const KernelChoices> choices, const Target &target,
                          bool keep_text) {
  KILN_CHECK(symbols.size() == kernels.size() && choices.size() == kernels.size(),
             "{} kernels, {} symbols, {} choices", kernels.size(), symbols.size(), choices.size());
  Jit &jit = Jit::instance();
  const CompileFault fault = take_injected_fault(CompileFault::Codegen);
#if defined(__SANITIZE_ADDRESS__)
  // An injected fault leaks what LLVM was building on purpose (see Build): LeakSanitizer is
  // told so, and still checks every other compile.
  std::optional<__lsan::ScopedDisabler> deliberate_leaks;
  if (fault != CompileFault::None) deliberate_leaks.emplace();
#endif
  hold_reserve();
  ObjectCode out;
  auto *build = new Build();
  try {
    Build &b = *build;
    auto start = std::chrono::steady_clock::now();
    b.machine = jit.machine(target);
    b.module = std::make_unique<llvm::Module>("kiln", b.context);
    b.module->setDataLayout(b.machine->createDataLayout());
    b.module->setTargetTriple(b.machine->getTargetTriple().str());
    for (size_t i = 0; i < kernels.size(); ++i)
      emit_kernel(*b.module, kernels[i], choices[i], symbols[i], target);
    std::string problems;
    llvm::raw_string_ostream problem_stream(problems);
    KILN_CHECK(!llvm::verifyModule(*b.module, &problem_stream), "generated LLVM IR is invalid: {}",
               problems);
    if (keep_text) out.source = module_text(*b.module);
    out.emit_ms = ms_since(start);
    start = std::chrono::steady_clock::now();
    optimize(b);
    out.optimize_ms = ms_since(start);
    if (keep_text) {
      out.optimized = module_text(*b.module);
      out.assembly = assembly(b);
    }
    start = std::chrono::steady_clock::now();
    emit_object(b, fault == CompileFault::Codegen);
    out.codegen_ms = ms_since(start);
    out.object.assign(b.object.data(), b.object.size());
  } catch (const std::bad_alloc &) {
    fail_out_of_memory(kernels);
  } catch (const Error &) {
    delete build;  // thrown by kiln, or an llvm::Error: LLVM's objects are whole
    throw;
  } catch (const std::exception &e) {
    fail("cpu backend: LLVM failed while generating code for {}: {}", kernel_names(kernels),
         e.what());
  }
  delete build;
  return out;
}

}  // namespace kiln::lower::cpu
