// The CPU backend's pipeline for a batch of kernels: emit one module, verify it, run the
// -O3 pipeline for the host, hand it to the JIT under its own resource tracker, and look the
// functions up. Text forms (IR before/after, assembly) are produced only when asked.
#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/PassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <atomic>
#include <chrono>

#include "ir/diag.h"
#include "lowering/cpu_llvm/cpu_backend.h"
#include "lowering/cpu_llvm/emit_gemm.h"
#include "lowering/cpu_llvm/emit_kernel.h"
#include "lowering/cpu_llvm/jit.h"

namespace kiln::lower::cpu {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::string module_text(const llvm::Module &m) {
  std::string text;
  llvm::raw_string_ostream out(text);
  m.print(out, nullptr);
  return text;
}

void optimize(llvm::Module &m, llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder builder(&machine);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
}

std::string assembly(const llvm::Module &m, llvm::TargetMachine &machine) {
  std::unique_ptr<llvm::Module> copy = llvm::CloneModule(m);
  llvm::SmallString<0> text;
  llvm::raw_svector_ostream out(text);
  llvm::legacy::PassManager passes;
  if (machine.addPassesToEmitFile(passes, out, nullptr, llvm::CodeGenFileType::AssemblyFile))
    return "; this target cannot print assembly\n";
  passes.run(*copy);
  return std::string(text.str());
}

// Removes the module's code from the JIT when the last program using it goes away.
struct CodeOwner {
  llvm::orc::ResourceTrackerSP tracker;
  ~CodeOwner() {
    if (auto error = tracker->remove()) llvm::consumeError(std::move(error));
  }
};

}  // namespace

std::string host_cpu_name() { return Jit::instance().cpu(); }

int64_t host_vector_bytes() { return vector_bytes(Jit::instance().features()); }

CompiledKernels compile_kernels(std::span<const ir::Kernel> kernels, const KernelCompileOptions &options) {
  static std::atomic<int64_t> next_module{0};
  Jit &jit = Jit::instance();
  CompiledKernels out;
  auto start = std::chrono::steady_clock::now();
  auto context = std::make_unique<llvm::LLVMContext>();
  const int64_t id = next_module++;
  auto module = std::make_unique<llvm::Module>(fmt::format("kiln_{}", id), *context);
  module->setDataLayout(jit.target_machine().createDataLayout());
  module->setTargetTriple(jit.target_machine().getTargetTriple().str());
  std::vector<std::string> symbols;
  for (const ir::Kernel &k : kernels) {
    symbols.push_back(fmt::format("kiln{}.{}", id, k.name));
    emit_kernel(*module, k, symbols.back(), jit.cpu(), jit.features());
  }
  std::string problems;
  llvm::raw_string_ostream problem_stream(problems);
  KILN_CHECK(!llvm::verifyModule(*module, &problem_stream), "generated LLVM IR is invalid: {}", problems);
  if (options.keep_text) out.source = module_text(*module);
  out.emit_ms = ms_since(start);
  start = std::chrono::steady_clock::now();
  optimize(*module, jit.target_machine());
  out.optimize_ms = ms_since(start);
  if (options.keep_text) {
    out.optimized = module_text(*module);
    out.assembly = assembly(*module, jit.target_machine());
  }
  start = std::chrono::steady_clock::now();
  auto owner = std::make_shared<CodeOwner>();
  owner->tracker = jit.add(llvm::orc::ThreadSafeModule(std::move(module), std::move(context)));
  for (size_t i = 0; i < symbols.size(); ++i) {
    void *address = jit.lookup(symbols[i]);
    const bool gemm = kernels[i].gemm.has_value();
    out.fns.push_back(gemm ? nullptr : reinterpret_cast<runtime::KernelFn>(address));
    out.gemm_fns.push_back(gemm ? reinterpret_cast<runtime::GemmMicroFn>(address) : nullptr);
  }
  out.codegen_ms = ms_since(start);
  out.code = owner;
  return out;
}

}  // namespace kiln::lower::cpu
