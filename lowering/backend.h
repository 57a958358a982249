// The backend table: what compile_graph and load (lowering/compile_graph.h) need of a
// backend, as a row of free functions. Backends see this header, the plain data it names
// (kernel IR, Target, Choices, Artifact) and nothing else of lowering/; adding a backend is
// one row in backend_table.cpp and its own folder.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "lowering/artifact.h"
#include "lowering/choices.h"
#include "lowering/fusion.h"
#include "lowering/kernel_ir.h"
#include "lowering/target.h"
#include "runtime/program.h"

namespace kiln::lower {

// A backend's compile of one batch of kernels.
struct ObjectCode {
  std::string object;     // what load() takes back (CPU: a relocatable object)
  std::string source;     // backend input as text, when asked (CPU: LLVM IR before -O3)
  std::string optimized;  // after optimization (CPU: LLVM IR after -O3)
  std::string assembly;   // native code as text
  double emit_ms = 0, optimize_ms = 0, codegen_ms = 0;
};

struct Backend {
  BackendKind kind;
  std::string_view name;  // "cpu"
  // Whether this build has the backend; when not, every function below throws kiln::Error
  // saying so, and `missing` says why ("built without LLVM (-Dllvm=disabled)").
  bool available;
  std::string_view missing;
  std::string (*version)();  // "LLVM 19.1.7"
  Target (*host_target)();
  Target (*named_target)(std::string_view name);  // "" is the host
  std::string (*why_cannot_run)(const Target &);  // "" when code for it runs here
  bool (*takes)(GroupKind kind);                  // which groups it compiles as kernels
  // Compiles `kernels` as one object, kernel i as `symbols[i]` with `choices[i]`.
  ObjectCode (*compile)(std::span<const Kernel> kernels, std::span<const std::string> symbols,
                        std::span<const KernelChoices> choices, const Target &target,
                        bool keep_text);
  // Links an artifact's object and finds its kernels' symbols, in artifact.kernels' order.
  std::shared_ptr<const runtime::KernelCode> (*load)(const Artifact &artifact);
};

// The row for `kind`.
[[nodiscard]] const Backend &backend(BackendKind kind);

}  // namespace kiln::lower
