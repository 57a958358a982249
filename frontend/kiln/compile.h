// kiln::compile: wrap a function of tensors and plain scalars; the first call traces it
// into IR guarded by the arguments' dtypes, shapes, layouts and scalar values (or, for the
// scalars CompileOptions::runtime_scalars names, read at each call), later calls
// whose arguments pass those guards run the optimised graph. A guard miss retraces (up to
// the recompile limit), and a trace that needs concrete values runs that guard set eagerly.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

// Cpu: generated native kernels (LLVM). Reference: the optimised graph run op by op by the
// reference evaluator (the oracle kernels are checked against). Eager: never compile.
enum class Backend { Cpu, Cuda, Reference, Eager };
enum class Stance { Default, ForceEager, EagerOnRecompile, FailOnRecompile };
enum class AutotuneMode { Off, Default, Max };
// Off: every new size is a new guard set. Auto: a dim seen to change becomes a symbol at the
// next compile (any size >= 2), so later sizes reuse that entry. On: every dim of size >= 2
// is a symbol from the first compile. A dim that cannot be symbolic stays static, with the
// reason under KILN_LOGS=recompiles.
enum class Dynamic { Off, Auto, On };

struct CompileOptions {
  std::string name = "fn";             // used in logs, dumps, IR (@name) and messages
  std::vector<std::string> arg_names;  // default arg0, arg1, …
  Backend backend = Backend::Cpu;
  int recompile_limit = 8;  // guard sets per function before it runs eagerly
  Stance stance = Stance::Default;
  Dynamic dynamic = Dynamic::Auto;
  // Off: heuristic Choices. Default: a short search of each GEMM kernel that takes 0.05 ms or
  // more (its tile and blocking), about half a second per kernel (a winner is timed once
  // more against the heuristic), once per machine (results go to the disk cache). Max:
  // every kernel, a wide search (pointwise and row kernels' registers per value, grain,
  // streaming stores, row scratch). KILN_AUTOTUNE overrides it.
  AutotuneMode autotune = AutotuneMode::Default;
  // The CPU code is generated for, as LLVM names it ("x86-64-v3"); "" is the process's
  // target (the host unless lower::set_target named another). It must run on this host.
  std::string target;
  // A guard set that runs eagerly — a graph break (an op that needs concrete values, a
  // random op), or the recompile limit — is said once per function on stderr, with the op
  // and the reason, whatever KILN_LOGS is. true (or KILN_QUIET_FALLBACK=1) keeps it quiet.
  bool quiet_fallback = false;
  // Scalar parameters (by index; double or int64_t) read at each call instead of guarded
  // by value: each becomes a 0-d input of the graph, so a learning-rate schedule or a step
  // counter compiles once. Only for a parameter the function hands to tensor ops alone
  // (w - lr * g): C++ cannot watch `if (lr > 0)` or `std::min(lr, c)`, which would then
  // take the branch of the first call forever. kiln checks what it can (a witness trace at
  // another value must differ only in the constants that hold it; one used in C++ arithmetic
  // or as a size stays guarded by value, and KILN_LOGS=guards says why), not branches.
  std::vector<int> runtime_scalars;
  // Tuning knobs, in Choices' text form ("fusion.max_kernel_members = 32", one per line;
  // see lowering/choices.h); knobs left out keep their defaults. Checked by compile().
  std::string choices;
};

// What compile() knows about a function: its compiled graphs and eager fallbacks.
struct Explanation {
  struct Entry {
    std::vector<std::string> guards;     // in words
    bool compiled = false;               // false: this guard set runs eagerly
    std::string break_op, break_reason;  // why, when not compiled
    // What the trace took from outside the arguments: tensors from the function's closure
    // (bound to their storage at trace time: in-place writes are seen, reassigning the
    // variable drops the entry at the next call and retraces) and scalar constants (fixed
    // at trace time).
    std::vector<std::string> captures;
    std::string graph;                                   // optimised IR text, when compiled
    std::vector<std::pair<std::string, int>> op_counts;  // op name -> nodes, sorted by name
    std::string fused;      // the kernel groups (Backend::Cpu), as IR text
    int kernels = 0;        // generated kernels per call
    int library_steps = 0;  // ops the runtime runs itself per call (views, cat, integer matmuls, …)
    int64_t peak_bytes = 0;  // memory a call holds at most (arena + results + library ops)
    int64_t arena_bytes = 0, unshared_bytes = 0;  // intermediates with and without reuse
    std::string target;     // what the code is for: "cpu znver3 (x86_64-…, 32-byte vectors)"
    std::string choices;    // the tuning knobs that differ from the defaults, or "defaults"
    std::string key;        // the compiled artifact's content key (32 hex digits)
    std::string origin;     // "compiled in 41.2 ms" or "loaded from the disk cache in 0.83 ms"
    double compile_ms = 0;  // the first call's trace, passes and compile (or cache load)
    int symbols = 0;        // dynamic shapes: symbols in the guards and IR (s0, s1, …)
    int sizes_seen = 0;     // dynamic shapes: distinct sizes this entry has run
  };
  std::string name;
  std::vector<Entry> entries;
  int graphs = 0;        // entries that compiled
  int graph_breaks = 0;  // entries that run eagerly because of a break
  [[nodiscard]] std::string str() const;
};

namespace detail {

using Arg = std::variant<Tensor, int64_t, double, bool, std::vector<Tensor>>;

// The type-erased machinery behind CompiledFunction (frontend/compile.cpp).
class CompiledCore {
 public:
  explicit CompiledCore(CompileOptions options);
  ~CompiledCore();
  using Invoke = std::function<std::vector<Tensor>(std::span<const Arg>)>;
  // Looks up (or makes) the entry for args and runs it; `invoke` calls the user function.
  std::vector<Tensor> call(std::span<const Arg> args, const Invoke &invoke);
  // Makes sure args have an entry, without running it, and describes every entry.
  Explanation explain(std::span<const Arg> args, const Invoke &invoke);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

template <class T>
Arg to_arg(T &&value) {
  using D = std::decay_t<T>;
  if constexpr (std::is_same_v<D, Tensor>)
    return Arg(std::forward<T>(value));
  else if constexpr (std::is_same_v<D, std::vector<Tensor>>)
    return Arg(std::forward<T>(value));
  else if constexpr (std::is_same_v<D, bool>)
    return Arg(value);
  else if constexpr (std::is_integral_v<D>)
    return Arg(static_cast<int64_t>(value));
  else if constexpr (std::is_floating_point_v<D>)
    return Arg(static_cast<double>(value));
  else
    static_assert(sizeof(D) == 0,
                  "compile(): arguments must be Tensor, std::vector<Tensor>, bool, integers or "
                  "floating-point scalars");
}

template <class T>
decltype(auto) from_arg(const Arg &arg) {
  using D = std::decay_t<T>;
  if constexpr (std::is_same_v<D, Tensor> || std::is_same_v<D, std::vector<Tensor>> ||
                std::is_same_v<D, bool>)
    return std::get<D>(arg);
  else if constexpr (std::is_integral_v<D>)
    return static_cast<D>(std::get<int64_t>(arg));
  else
    return static_cast<D>(std::get<double>(arg));
}

template <class R>
std::vector<Tensor> to_tensors(R &&result) {
  using D = std::decay_t<R>;
  if constexpr (std::is_same_v<D, Tensor>)
    return {std::forward<R>(result)};
  else if constexpr (std::is_same_v<D, std::vector<Tensor>>)
    return std::forward<R>(result);
  else
    return std::apply([](auto &&...ts) { return std::vector<Tensor>{Tensor(ts)...}; },
                      std::forward<R>(result));
}

template <class R>
R from_tensors(std::vector<Tensor> &&ts) {
  if constexpr (std::is_same_v<R, Tensor>)
    return std::move(ts.at(0));
  else if constexpr (std::is_same_v<R, std::vector<Tensor>>)
    return std::move(ts);
  else
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return R{std::move(ts.at(I))...};
    }(std::make_index_sequence<std::tuple_size_v<R>>{});
}

}  // namespace detail

template <class Fn>
class CompiledFunction {
 public:
  using is_compiled_function = void;

  CompiledFunction(Fn fn, CompileOptions options)
      : fn_(std::move(fn)), core_(std::make_shared<detail::CompiledCore>(std::move(options))) {}

  template <class... Args>
  auto operator()(Args &&...args) const {
    using R = std::decay_t<std::invoke_result_t<const Fn &, Args...>>;
    const std::array<detail::Arg, sizeof...(Args)> flat = {detail::to_arg(args)...};
    auto invoke = make_invoke<Args...>();
    return detail::from_tensors<R>(core_->call(flat, invoke));
  }

  template <class... Args>
  Explanation explain(Args &&...args) const {
    const std::array<detail::Arg, sizeof...(Args)> flat = {detail::to_arg(args)...};
    return core_->explain(flat, make_invoke<Args...>());
  }

 private:
  template <class... Args>
  detail::CompiledCore::Invoke make_invoke() const {
    return [this](std::span<const detail::Arg> a) {
      return [&]<size_t... I>(std::index_sequence<I...>) {
        return detail::to_tensors(std::invoke(fn_, detail::from_arg<Args>(a[I])...));
      }(std::index_sequence_for<Args...>{});
    };
  }

  Fn fn_;
  std::shared_ptr<detail::CompiledCore> core_;
};

template <class Fn>
[[nodiscard]] CompiledFunction<std::decay_t<Fn>> compile(Fn &&fn, CompileOptions options = {}) {
  return CompiledFunction<std::decay_t<Fn>>(std::forward<Fn>(fn), std::move(options));
}

// Graphs, graph breaks with reason and op, guards in words and op counts for fn at args.
// fn may be a CompiledFunction (its entries are described) or any callable (compiled fresh).
template <class Fn, class... Args>
[[nodiscard]] Explanation explain(Fn &&fn, Args &&...args) {
  using D = std::decay_t<Fn>;
  if constexpr (requires { typename D::is_compiled_function; })
    return fn.explain(std::forward<Args>(args)...);
  else
    return compile(std::forward<Fn>(fn)).explain(std::forward<Args>(args)...);
}

}  // namespace kiln
