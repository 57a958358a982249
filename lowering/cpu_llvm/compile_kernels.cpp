// The CPU backend's pipeline for a batch of kernels: emit one module for the target, verify
// it, run the -O3 pipeline, generate a relocatable object, hand that to the JIT under its own
// resource tracker, and look the functions up. Text forms (IR before/after, assembly) are
// produced only when asked. LLVM is built without exceptions: when an allocation fails inside
// it, what it was building is leaked, not destroyed, and the caller gets a kiln::Error.
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

std::atomic<CompileFault> injected_fault{CompileFault::None};

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

// Removes the module's code from the JIT when the last program using it goes away.
struct CodeOwner {
  llvm::orc::ResourceTrackerSP tracker;
  ~CodeOwner() {
    if (tracker)
      if (auto error = tracker->remove()) llvm::consumeError(std::move(error));
  }
  // After an exception out of ORC, a lookup's query may still be registered with this
  // tracker's symbols, holding a pointer into a stack frame that is gone: removing the
  // tracker would fail that query through the dead pointer (issue 12's segfault in
  // ~CodeOwner). The tracker and its code are leaked instead.
  void abandon() {
    tracker.get()->Retain();  // a reference no one releases
    tracker = nullptr;
  }
};

// "kernel 'f.k0'" or "3 kernels ('f.k0', 'f.k1', 'f.k2')".
std::string kernel_names(std::span<const lower::Kernel> kernels) {
  if (kernels.size() == 1) return fmt::format("kernel '{}'", kernels[0].name);
  std::string names;
  for (const lower::Kernel &k : kernels)
    names += fmt::format("{}'{}'", names.empty() ? "" : ", ", k.name);
  return fmt::format("{} kernels ({})", kernels.size(), names);
}

[[noreturn]] void fail_out_of_memory(const char *doing, std::span<const lower::Kernel> kernels) {
  delete[] reserve.exchange(nullptr);
  fail("cpu backend: out of memory while {} {}", doing, kernel_names(kernels));
}

}  // namespace

CpuTarget host_target() { return Jit::instance().host(); }

CpuTarget current_target() { return Jit::instance().current(); }

CpuTarget set_target(std::string_view cpu) { return Jit::instance().set_current(cpu); }

std::string host_cpu_name() { return Jit::instance().host().cpu; }

void inject_compile_fault(CompileFault fault) { injected_fault = fault; }

CompiledKernels compile_kernels(std::span<const lower::Kernel> kernels,
                                const KernelCompileOptions &options) {
  return compile_kernels(kernels, options, current_target());
}

CompiledKernels compile_kernels(std::span<const lower::Kernel> kernels,
                                const KernelCompileOptions &options, const CpuTarget &target) {
  static std::atomic<int64_t> next_module{0};
  Jit &jit = Jit::instance();
  const CompileFault fault = injected_fault.exchange(CompileFault::None);
#if defined(__SANITIZE_ADDRESS__)
  // An injected fault leaks what LLVM was building on purpose (see Build and CodeOwner):
  // LeakSanitizer is told so, and still checks every other compile.
  std::optional<__lsan::ScopedDisabler> deliberate_leaks;
  if (fault != CompileFault::None) deliberate_leaks.emplace();
#endif
  hold_reserve();
  CompiledKernels out;
  const int64_t id = next_module++;
  std::vector<std::string> symbols;
  for (const lower::Kernel &k : kernels) symbols.push_back(fmt::format("kiln{}.{}", id, k.name));

  auto *build = new Build();
  try {
    Build &b = *build;
    auto start = std::chrono::steady_clock::now();
    b.machine = jit.machine(target);
    b.module = std::make_unique<llvm::Module>(fmt::format("kiln_{}", id), b.context);
    b.module->setDataLayout(b.machine->createDataLayout());
    b.module->setTargetTriple(b.machine->getTargetTriple().str());
    for (size_t i = 0; i < kernels.size(); ++i)
      emit_kernel(*b.module, kernels[i], symbols[i], target.cpu, target.features);
    std::string problems;
    llvm::raw_string_ostream problem_stream(problems);
    KILN_CHECK(!llvm::verifyModule(*b.module, &problem_stream), "generated LLVM IR is invalid: {}",
               problems);
    if (options.keep_text) out.source = module_text(*b.module);
    out.emit_ms = ms_since(start);
    start = std::chrono::steady_clock::now();
    optimize(b);
    out.optimize_ms = ms_since(start);
    if (options.keep_text) {
      out.optimized = module_text(*b.module);
      out.assembly = assembly(b);
    }
    start = std::chrono::steady_clock::now();
    emit_object(b, fault == CompileFault::Codegen);
    out.codegen_ms = ms_since(start);
  } catch (const std::bad_alloc &) {
    fail_out_of_memory("generating code for", kernels);
  } catch (const Error &) {
    delete build;  // thrown by kiln, or an llvm::Error: LLVM's objects are whole
    throw;
  } catch (const std::exception &e) {
    fail("cpu backend: LLVM failed while generating code for {}: {}", kernel_names(kernels),
         e.what());
  }
  const auto start = std::chrono::steady_clock::now();
  auto object = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(build->object.data(), build->object.size()), fmt::format("kiln_{}.o", id));
  delete build;
  auto owner = std::make_shared<CodeOwner>();
  owner->tracker = jit.tracker();
  try {
    jit.add_object(owner->tracker, std::move(object));
    if (fault == CompileFault::Materialize) {
      const std::string name = fmt::format("kiln{}.fault", id);
      jit.add_failing_symbol(owner->tracker, name);
      (void)jit.lookup(name);
    }
    if (fault == CompileFault::MissingSymbol) (void)jit.lookup(fmt::format("kiln{}.missing", id));
    for (size_t i = 0; i < symbols.size(); ++i) {
      void *address = jit.lookup(symbols[i]);
      const bool gemm = kernels[i].gemm.has_value();
      out.fns.push_back(gemm ? nullptr : reinterpret_cast<runtime::KernelFn>(address));
      out.gemm_fns.push_back(gemm ? reinterpret_cast<runtime::GemmMicroFn>(address) : nullptr);
    }
  } catch (const Error &) {
    throw;  // an llvm::Error: ORC is whole, and removing the tracker frees what was added
  } catch (const std::bad_alloc &) {
    owner->abandon();
    fail_out_of_memory("linking", kernels);
  } catch (const std::exception &e) {
    owner->abandon();
    fail("cpu backend: the JIT failed while linking {}: {}", kernel_names(kernels), e.what());
  }
  out.codegen_ms += ms_since(start);
  out.code = owner;
  return out;
}

}  // namespace kiln::lower::cpu
