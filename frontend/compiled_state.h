// The state behind a CompiledFunction, shared by compile.cpp (tracing, the call path,
// explain) and dynamic_shapes.cpp (symbolic entries): its entries, each a guard set with a
// graph and a program, or a graph break that runs eagerly.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "autotune/tune.h"
#include "guards/guard_set.h"
#include "ir/graph.h"
#include "ir/sym_expr.h"
#include "kiln/autograd.h"
#include "kiln/compile.h"
#include "lowering/choices.h"
#include "lowering/compile_graph.h"
#include "lowering/target.h"
#include "runtime/array.h"
#include "runtime/program.h"

namespace kiln::detail {

// A dynamic entry at one call's sizes: its program (Backend::Cpu) or graph (Reference).
struct Instance {
  std::shared_ptr<const runtime::Program> program;
  ir::Graph graph;
};

// A call's symbol sizes (unused symbols 0): the key of a dynamic entry's instances.
using SymbolSizes = std::array<int64_t, guards::kMaxSymbols>;

// What a dynamic entry knows beyond a static one: the witness sizes its graph and program
// were made at, the trace before passes (each new size is checked against it), and the
// sizes seen so far (nullptr: the function traces differently there, so those sizes get
// an entry of their own).
struct DynamicState {
  std::vector<int64_t> witnesses;
  ir::Graph traced;
  std::vector<ir::SizeConstantNode> size_constants;  // of `traced`: constants that follow sizes
  std::vector<ir::SymExpr> derived;  // sizes computed from the symbols (ir::derived_sizes)
  std::shared_mutex mutex;
  std::map<SymbolSizes, std::shared_ptr<const Instance>> instances;
};

// A scalar argument the graph reads at each call: a 0-d input of this dtype, after the
// tensors and the captured constants.
struct ScalarInput {
  int32_t row = 0;  // in Flat
  DType dtype = DType::F32;
};

// What a compiled call does besides returning the function's results: outputs past the
// first `returned` are new values of captured tensors the function wrote in place (copied
// into their memory after each call) and the .grad() of tensors the function set.
struct Effects {
  size_t returned = 0;
  std::vector<std::pair<size_t, size_t>> writebacks;  // captured index, output index
  // A .grad() the function read or set. The trace runs on the .grad() each tensor had then;
  // a call is like the trace only when each one read then is again undefined (or again
  // defined, with the same dtype and layout: its array is bound as the captured input
  // `read_slot` at each call).
  struct Grad {
    std::weak_ptr<TensorImpl> tensor;
    bool reads_initial = false;    // the function read (or added to) the .grad() it found
    bool initial_defined = false;  // which was defined
    int64_t read_slot = -1;        // the captured index its values were read through
    bool changes = false;          // the function left another .grad() than it found
    int64_t output = -1;           // that .grad(), when defined
  };

  std::vector<Grad> grads;
  [[nodiscard]] bool any() const { return !writebacks.empty() || !grads.empty(); }
};

struct Entry {
  guards::GuardSet guards;
  bool compiled = false;
  ir::Graph graph;
  std::vector<runtime::Array> captured;
  // Captured tensors a closure held after the trace (their IR names, owners). A tensor
  // is bound by its storage at trace time: when its owner dies, the closure's variable now
  // names another tensor (or none), so the entry is stale and the function is traced again.
  std::vector<std::pair<std::string, std::weak_ptr<const void>>> closure;  // name, owner
  std::vector<std::string> captures;  // the captured tensors and scalar constants, in words

  // Gradient recording (kiln::grad_enabled()) when traced: a trace records gradient nodes
  // only with it on, so a call with the other mode needs an entry of its own.
  bool grad_mode = true;
  // Flags the function branched on (modules' training mode), with their values then.
  std::vector<std::pair<std::weak_ptr<const bool>, bool>> flag_reads;
  // The mode and flags of this call are those the entry was traced with.
  [[nodiscard]] bool same_modes() const {
    if (grad_mode != grad_enabled()) return false;
    for (const auto &[flag, value] : flag_reads)
      if (auto f = flag.lock(); f && *f != value) return false;
    return true;
  }
  // The closure's tensors' requires_grad when traced (parallel to closure).
  std::vector<bool> closure_requires_grad;

  // The entry no longer describes what a call would do: a captured tensor is gone or now
  // (does not) require grad, or a .grad() the function adds to changed definedness.
  [[nodiscard]] bool stale() const { return !stale_reason().empty(); }
  [[nodiscard]] std::string stale_reason() const;
  std::string break_op, break_reason;
  // Backend::Cpu: the program loaded from the entry's artifact, and what explain() shows of
  // that artifact; otherwise the graph runs in the reference evaluator.
  std::shared_ptr<const runtime::Program> program;
  std::string fused;                 // the fused graph (a dynamic entry's with its symbols)
  int kernels = 0;                   // kernel steps
  std::string target, choices, key;  // the artifact's, in words (explain())
  std::string origin;     // "compiled in 41.2 ms" or "loaded from the disk cache in 0.83 ms"
  double compile_ms = 0;  // trace, passes and compile (or load), for a compiled entry
  double trace_ms = 0, passes_ms = 0;     // its first two stages
  std::unique_ptr<DynamicState> dynamic;  // null for a static entry
  // Philox counters a call draws (the trace's); each call reserves them from the generator
  // and places its random ops there, as the eager function's draws would be placed.
  int64_t random_counters = 0;
  std::vector<ScalarInput> scalar_inputs;  // made from the call's doubles, after `captured`
  Effects effects;
};

// A graph traced from the user's function, before any pass.
struct Traced {
  Effects effects;
  std::vector<std::pair<std::weak_ptr<const bool>, bool>> flag_reads;  // Trace::flag_reads
  ir::Graph graph;  // its random ops' offsets relative to the trace's first draw, seeds 0
  int64_t random_counters = 0;  // how far the trace moved the generator: a call moves it so
  std::vector<runtime::Array> captured;
  std::vector<std::weak_ptr<const void>> owners;  // parallel to captured
  // Double arguments read at each call (their value unguarded), and the graph's inputs that
  // carry them (scalar_inputs.size() inputs after the captured ones).
  std::vector<int32_t> runtime_rows;
  std::vector<ScalarInput> scalar_inputs;
};

// Distinct sizes a dynamic entry remembers; past this it forgets them and checks again.
constexpr size_t kMaxInstances = 256;

// (argument row, dim) pairs: the dims dynamic shapes may make symbols.
using DimList = std::vector<std::pair<int32_t, int32_t>>;

// Flattened arguments: one guard row per tensor (a vector<Tensor> contributes one per
// element, named "xs[i]") and per scalar.
struct Flat {
  std::vector<guards::ArgDesc> descs;
  std::vector<std::string> names;
  std::vector<int32_t> params;          // with names: the function parameter of each row
  std::vector<const Tensor *> tensors;  // parallel to the tensor rows of descs
};

// Whether two traces captured the same tensors: closure weights are the same arrays in
// every trace, while a tensor the function makes from data is new each time.
[[nodiscard]] bool same_captures(const std::vector<runtime::Array> &a,
                                 const std::vector<runtime::Array> &b);
// A name the IR text accepts, and a scalar guard's name (no dots).
[[nodiscard]] std::string sanitize(std::string_view name);
[[nodiscard]] std::string guard_name(std::string_view name);

inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct CompiledCore::State {
  CompileOptions options;
  std::optional<lower::Target> target;  // options.target, resolved; unset: current_target()
  lower::Choices choices;               // options.choices, parsed

  // Whether entries compile to code (Backend::Cpu, in a build with the CPU backend).
  [[nodiscard]] bool codegen() const;
  std::shared_mutex entries_mutex;
  std::vector<std::shared_ptr<const Entry>> entries;
  std::mutex compile_mutex;  // one trace at a time per function
  std::atomic<bool> warned_limit{false};
  std::atomic<bool> warned_break{false};
  std::atomic<bool> warned_internal{false};
  int traces = 0;
  std::set<DimList> failed_dynamic;  // candidate dims tried in vain
  DimList last_dynamic;              // the dims of the latest dynamic entry made
  size_t stale_entries = 0;          // entries dropped as stale, counted toward the limit

  // The entry whose guards hold. A dynamic entry comes with its instance for the call's
  // sizes, or with none when those sizes are new (`bindings` then holds them).
  struct Hit {
    std::shared_ptr<const Entry> entry;
    std::shared_ptr<const Instance> instance;
    SymbolSizes bindings{};
    explicit operator bool() const { return entry != nullptr; }
  };

  // The first entry that holds. A dynamic entry at sizes it has not run yet is returned
  // (without an instance) only when no later entry holds outright.
  Hit find(const Flat &f) {
    std::shared_lock lock(entries_mutex);
    Hit unknown;
    for (const auto &e : entries) {
      if (!e->same_modes() || e->stale()) continue;
      if (!e->dynamic) {
        if (e->guards.check(f.descs)) return {e, nullptr, {}};
        continue;
      }
      SymbolSizes sizes{};
      if (!e->guards.check(f.descs, sizes)) continue;
      std::shared_lock dyn_lock(e->dynamic->mutex);
      auto it = e->dynamic->instances.find(sizes);
      if (it == e->dynamic->instances.end()) {
        if (!unknown) unknown = {e, nullptr, sizes};
      } else if (it->second) {
        return {e, it->second, {}};
      }
    }
    return unknown;
  }

  // One reason per cached entry, closest first.
  std::vector<std::string> miss_reasons(const Flat &f) {
    std::vector<guards::GuardSet::Miss> misses;
    {
      std::shared_lock lock(entries_mutex);
      for (const auto &e : entries) {
        misses.push_back(e->guards.explain_miss(f.descs));
        if (misses.back().reason.empty() && e->grad_mode != grad_enabled())
          misses.back().reason =
              fmt::format("gradient recording is {} (kiln::NoGradGuard), and was {} when traced",
                          grad_enabled() ? "on" : "off", e->grad_mode ? "on" : "off");
        if (misses.back().reason.empty() && !e->same_modes())
          misses.back().reason =
              "a module's training mode (train()/eval()) differs from when it was traced";
      }
    }
    std::stable_sort(misses.begin(), misses.end(),
                     [](auto &a, auto &b) { return a.passed > b.passed; });
    std::vector<std::string> out;
    for (auto &m : misses)  // empty: that entry held; entries failing alike say it once
      if (!m.reason.empty() && std::find(out.begin(), out.end(), m.reason) == out.end())
        out.push_back(std::move(m.reason));
    return out;
  }

  // Traces the function; the scalars options.runtime_scalars names become runtime inputs
  // where the graph allows (frontend/scalar_inputs.cpp), the others stay constants.
  Traced trace_graph(std::span<const Arg> args, const Flat &f, const Invoke &invoke,
                     std::span<const guards::SymbolicDim> symbols, std::span<const int64_t> sizes);
  Traced trace_once(std::span<const Arg> args, const Flat &f, const Invoke &invoke,
                    std::span<const guards::SymbolicDim> symbols, std::span<const int64_t> sizes);
  std::shared_ptr<const Entry> trace(std::span<const Arg> args, const Flat &f,
                                     const Invoke &invoke);
  std::shared_ptr<const Entry> trace_dynamic(std::span<const Arg> args, const Flat &f,
                                             const Invoke &invoke, const DimList &candidates,
                                             std::string &why);
  void optimise(Entry &entry, Traced traced, int index, double trace_ms);
  // Compiles the entry's graph to an artifact and loads it: Backend::Cpu's step after
  // optimise, with the function's `choices`. A dynamic entry's graph is at `witnesses` and
  // its kernels are `symbolic_kernels`.
  void compile_and_load(Entry &entry, int index, const lower::Target &target,
                        const lower::Choices &choices, std::vector<int64_t> witnesses = {},
                        std::vector<lower::Kernel> symbolic_kernels = {}) const;
  // options.target's, else the process's current target (read once per compile).
  [[nodiscard]] lower::Target compile_target() const;
  // KILN_AUTOTUNE if set, else options.autotune.
  [[nodiscard]] autotune::Mode autotune_mode() const;
  std::vector<DimList> dynamic_candidates(const Flat &f);
  // A dynamic entry for this call, or null (the reasons go to KILN_LOGS=recompiles).
  std::shared_ptr<const Entry> compile_dynamic(std::span<const Arg> args, const Flat &f,
                                               const Invoke &invoke);
  std::shared_ptr<const Instance> admit_sizes(const Entry &e, const SymbolSizes &sizes,
                                              std::span<const Arg> args, const Flat &f,
                                              const Invoke &invoke, std::string &why);
  Hit lookup_or_compile(std::span<const Arg> args, const Flat &f, const Invoke &invoke);
};

}  // namespace kiln::detail
