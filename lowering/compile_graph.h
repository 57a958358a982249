// The compile path, backend-neutral: graph → (fusion, scheduling, the backend's compile) →
// Artifact, and Artifact → (the backend's load) → Program. The frontend and kiln-opt call
// these and nothing inside them.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "lowering/artifact.h"
#include "lowering/kernel_ir.h"
#include "runtime/program.h"

namespace kiln::lower {

struct CompileGraphOptions {
  bool keep_text = false;  // keep the backend's text (LLVM IR, assembly) for dumps and logs
  bool codegen = true;     // false: fuse and schedule only; the artifact has no code
  // Dynamic shapes: the graph's sizes are these witnesses (ir/substitute_sizes.h), and
  // each kernel step runs the kernel of symbolize_kernels instead of its own scheduling.
  std::vector<int64_t> witnesses;
  std::vector<Kernel> symbolic_kernels;
};

struct CompiledGraph {
  Artifact artifact;
  std::vector<Kernel> kernels;              // the kernel IR of every kernel step, in step order
  std::vector<size_t> kernel_steps;         // the plan's step index of each
  std::string kernels_text;                 // print_kernel of each (with names), for logs and dumps
  std::string source, optimized, assembly;  // the backend's text, when keep_text
  std::string timing;                       // "fuse 0.1 ms, schedule …" for KILN_LOGS=compile_time
};

// Requires a verified, decomposed graph. Throws kiln::Error when the target's backend is
// not built, when a choice cannot apply to the target (a GEMM tile whose nr is not a whole
// number of vectors), or when the backend fails.
[[nodiscard]] CompiledGraph compile_graph(const ir::Graph &g, const Target &target,
                                          const Choices &choices,
                                          const CompileGraphOptions &options = {});

// Each distinct kernel of a compile once, in the artifact's kernel order (the code index
// its steps run), as its first step scheduled it: what a backend compiles.
[[nodiscard]] std::vector<Kernel> distinct_kernels(const CompiledGraph &c);

// The only way a Program gets code: the artifact's backend links its object. Throws
// kiln::Error for an artifact without code or one whose target this host cannot run.
[[nodiscard]] std::shared_ptr<const runtime::Program> load(const Artifact &artifact);

// "kiln 0.1.0, LLVM 19.1.7": what made an artifact for `kind`, part of every key.
[[nodiscard]] std::string versions(BackendKind kind);

// The key of a compile before it runs (XXH3-128, 32 hex digits): the graph's text, names
// included, with the target, the choices, the symbolic kernels and the versions. A cache
// records the artifact key under it, so that a warm start goes from graph to artifact
// without fusing, scheduling or generating code.
[[nodiscard]] std::string compile_key(const ir::Graph &g, const Target &target,
                                      const Choices &choices, const CompileGraphOptions &options);
// XXH3-128 of any text, as 32 hex digits: the cache's keys for what the lowering does not
// key itself (tuning results).
[[nodiscard]] std::string content_hash(std::string_view text);

// XXH3-128 of the graph's text alone: the key under which a cache remembers the settings a
// graph was last compiled with, to say why a lookup missed.
[[nodiscard]] std::string graph_text_key(const ir::Graph &g);

// Dynamic shapes: compares compiles of one graph at witness sets a and b (codegen off is
// enough). Both must group the graph alike, run the same op steps (up to the sizes), and
// each kernel must be the same program but for numbers that fit polynomials in the
// symbols (lowering/symbolic_kernel.h). Fills `kernels` for
// CompileGraphOptions::symbolic_kernels; returns why not, or "".
// `derived` are sizes computed from the symbols that op steps may hold (ir::derived_sizes).
// check_symbolic_kernels then tests the result against a compile at a third set `c`.
[[nodiscard]] std::string symbolize_kernels(const CompiledGraph &at_a, const CompiledGraph &at_b,
                                            std::span<const int64_t> a, std::span<const int64_t> b,
                                            std::span<const ir::SymExpr> derived,
                                            std::vector<Kernel> &kernels);
[[nodiscard]] std::string check_symbolic_kernels(
    std::span<const Kernel> kernels, const CompiledGraph &at_a, const CompiledGraph &at_c,
    std::span<const int64_t> a, std::span<const int64_t> c, std::span<const ir::SymExpr> derived);

}  // namespace kiln::lower
