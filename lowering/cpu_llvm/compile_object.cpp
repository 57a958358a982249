// The CPU backend's compile of a batch of kernels: emit one module for the target, verify
// it, run the -O3 pipeline and generate a relocatable object, as bytes. A batch with enough
// work is cut into parts (assign_parts), each its own module and object, compiled in
// parallel on the thread pool: -O3 and codegen were nine
// tenths of a cold compile (W8: 116 + 113 ms of 232). The parts depend only on the kernels,
// never on the thread count, so the bytes do not either (object_parts.h frames them).
// Text forms (IR before/after, assembly) are produced only when asked. Nothing here depends
// on the process: the same kernels, symbols, choices and target give the same bytes. LLVM is built
// without exceptions: when an allocation fails inside it, what it was building is leaked, not
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

#include <algorithm>
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
#include "lowering/cpu_llvm/object_parts.h"
#include "runtime/thread_pool.h"

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

// One module and object for these kernels.
ObjectCode compile_part(std::span<const Kernel> kernels, std::span<const std::string> symbols,
                        std::span<const KernelChoices> choices, const Target &target,
                        bool keep_text, CompileFault fault) {
  Jit &jit = Jit::instance();
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

// Parts keep a few threads busy, but each module has a fixed cost (a target machine, the
// pass pipelines' setup: about 3 ms here), so a part gets at least kPartCost of work: a GEMM
// kernel counts 4 (-O3 and codegen of one took ~45 ms), any other kernel 1 (~6-15 ms).
constexpr size_t kMaxParts = 8;
constexpr int kPartCost = 4;

int compile_cost(const Kernel &k) { return k.gemm ? 4 : 1; }

// Kernel i's part: the heaviest kernels first, each to the least loaded part (ties to the
// first), so the cut depends on the kernels alone.
std::vector<size_t> assign_parts(std::span<const Kernel> kernels, size_t &parts) {
  int total = 0;
  for (const Kernel &k : kernels) total += compile_cost(k);
  parts = std::clamp<size_t>(static_cast<size_t>(total / kPartCost), 1,
                             std::min(kernels.size(), kMaxParts));
  std::vector<size_t> order(kernels.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return compile_cost(kernels[a]) > compile_cost(kernels[b]);
  });
  std::vector<int> load(parts, 0);
  std::vector<size_t> part_of(kernels.size());
  for (size_t i : order) {
    const size_t p = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    part_of[i] = p;
    load[p] += compile_cost(kernels[i]);
  }
  return part_of;
}

}  // namespace

ObjectCode compile_object(std::span<const Kernel> kernels, std::span<const std::string> symbols,
                          std::span<const KernelChoices> choices, const Target &target,
                          bool keep_text) {
  KILN_CHECK(symbols.size() == kernels.size() && choices.size() == kernels.size(),
             "{} kernels, {} symbols, {} choices", kernels.size(), symbols.size(), choices.size());
  const CompileFault fault = take_injected_fault(CompileFault::Codegen);
  size_t parts = 1;
  const std::vector<size_t> part_of = assign_parts(kernels, parts);
  // One part, or an injected fault (whose deliberate leak LeakSanitizer is told about on
  // this thread only): one module, on this thread.
  if (parts <= 1 || fault != CompileFault::None)
    return compile_part(kernels, symbols, choices, target, keep_text, fault);
  struct Part {
    std::vector<Kernel> kernels;
    std::vector<std::string> symbols;
    std::vector<KernelChoices> choices;
    ObjectCode code;
  };
  std::vector<Part> split(parts);
  for (size_t i = 0; i < kernels.size(); ++i) {
    Part &p = split[part_of[i]];
    p.kernels.push_back(kernels[i]);
    p.symbols.push_back(symbols[i]);
    p.choices.push_back(choices[i]);
  }
  runtime::parallel_for(static_cast<int64_t>(parts), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      Part &p = split[static_cast<size_t>(i)];
      p.code = compile_part(p.kernels, p.symbols, p.choices, target, keep_text, CompileFault::None);
    }
  });
  ObjectCode out;
  std::vector<std::string> objects;
  for (size_t i = 0; i < parts; ++i) {
    ObjectCode &c = split[i].code;
    objects.push_back(std::move(c.object));
    const std::string header = fmt::format("; part {} of {}\n", i + 1, parts);
    if (keep_text) {
      out.source += header + c.source;
      out.optimized += header + c.optimized;
      out.assembly += fmt::format("# part {} of {}\n", i + 1, parts) + c.assembly;
    }
    // CPU time of each stage over the parts (the wall time is the compile's own).
    out.emit_ms += c.emit_ms;
    out.optimize_ms += c.optimize_ms;
    out.codegen_ms += c.codegen_ms;
  }
  out.object = join_object_parts(objects);
  return out;
}

}  // namespace kiln::lower::cpu
