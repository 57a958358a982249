// The CPU backend's row: targets as LLVM names them, which groups it compiles (all kernel
// groups), and its compile and load. Also the test-only fault injection both of those read.
#include "lowering/cpu_llvm/cpu_backend.h"

#include <llvm/Config/llvm-config.h>

#include <atomic>

#include "ir/diag.h"
#include "lowering/cpu_llvm/jit.h"

namespace kiln::lower::cpu {
namespace {

std::atomic<CompileFault> injected_fault{CompileFault::None};

// The '+' features of a feature string.
std::vector<std::string> enabled(const std::string &features) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < features.size()) {
    size_t comma = features.find(',', at);
    if (comma == std::string::npos) comma = features.size();
    if (features[at] == '+') out.push_back(features.substr(at + 1, comma - at - 1));
    at = comma + 1;
  }
  return out;
}

}  // namespace

void inject_compile_fault(CompileFault fault) { injected_fault = fault; }

CompileFault take_injected_fault(CompileFault kind) {
  CompileFault expected = kind;
  return injected_fault.compare_exchange_strong(expected, CompileFault::None) ? kind
                                                                              : CompileFault::None;
}

std::string why_host_cannot_run(const Target &target) {
  const Target &host = Jit::instance().host();
  if (target.backend != BackendKind::Cpu) return "it is not CPU code";
  if (target.triple != host.triple)
    return fmt::format("it is for '{}', this host is '{}'", target.triple, host.triple);
  const std::vector<std::string> have = enabled(host.features);
  std::string missing;
  for (const std::string &f : enabled(target.features))
    if (std::find(have.begin(), have.end(), f) == have.end())
      missing += fmt::format("{}{}", missing.empty() ? "" : ", ", f);
  if (!missing.empty())
    return fmt::format("code for CPU '{}' needs {}, which this host ('{}') lacks", target.cpu,
                       missing, host.cpu);
  return "";
}

const Backend &backend_row() {
  static const Backend row{
      .kind = BackendKind::Cpu,
      .name = "cpu",
      .available = true,
      .missing = "",
      .version = []() -> std::string { return "LLVM " LLVM_VERSION_STRING; },
      .host_target = []() { return Jit::instance().host(); },
      .named_target = [](std::string_view cpu) { return Jit::instance().named(cpu); },
      .why_cannot_run = why_host_cannot_run,
      .takes = [](GroupKind kind) { return kind != GroupKind::Library; },
      .compile = compile_object,
      .load = load_object,
  };
  return row;
}

}  // namespace kiln::lower::cpu
