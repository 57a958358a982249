// Autotuning: for each kernel step of a graph, try the variants its kind declares
// (variant_space.h) over the Choices, run each alone on buffers of the real shapes
// (runtime::Program::run_step), reject any whose output differs from the heuristic one's,
// and keep the fastest. Results are cached per kernel (normalized kernel IR + Target), so
// the same kernel is measured once per machine.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cache/store.h"
#include "ir/graph.h"
#include "lowering/choices.h"
#include "lowering/target.h"

namespace kiln::autotune {

// Off: the heuristic Choices. Default: a few variants of each GEMM kernel worth it (its
// tile's blocking), bounded by a time budget. Max: every kernel (a pointwise or row kernel's
// registers, grain, streaming, scratch too), a wide space, a progress line with an ETA.
enum class Mode : uint8_t { Off, Default, Max };

[[nodiscard]] std::string_view mode_name(Mode mode);

struct Measured {
  std::string variant;  // the knobs that differ from the heuristic's, or "heuristic"
  double median_ms = 0;
  bool rejected = false;  // its output differed from the heuristic variant's
  std::string why;        // what differed
};

struct KernelTuning {
  int64_t kernel = 0;       // k0, k1, … in step order
  std::string name;         // the kernel step's name, "model.k1"
  std::string what;         // "gemm [512,1024] x [1024,4096]", "pointwise", "row"
  bool from_cache = false;  // chosen by an earlier measurement (the table is then empty)
  std::vector<Measured> table;
  lower::KernelChoices chosen;
  std::string chosen_text;  // the chosen variant's knobs, or "heuristic"
};

struct Result {
  lower::Choices choices;  // base with per-kernel entries for the kernels that gained
  std::vector<KernelTuning> kernels;
  double ms = 0;  // the whole search, compiles included
};

struct Options {
  Mode mode = Mode::Default;
  std::string name;  // the function's, for logs and the progress line
  // Tuning results read here (disk, then Redis) and written (disk, and published), if any.
  const cache::Store *cache = nullptr;
  double budget_ms_per_variant = 0;  // timing one variant; 0: Default 15 ms, Max 60 ms
  double budget_ms_per_kernel = 0;   // one kernel's search; 0: Default 0.5 s, Max 120 s
  // A kernel whose heuristic variant runs faster than this is not searched further (what a
  // few percent of it could save is less than the search costs); < 0: Default 0.05 ms,
  // Max 0. Injected costs (below) are always searched.
  double min_kernel_ms = -1;
  // Tests: a variant's cost instead of timing it (nullopt: time it), and a hook that may
  // change a variant's outputs after it ran (to prove wrong variants are rejected).
  std::function<std::optional<double>(int64_t kernel, const lower::KernelChoices &)> cost;
  std::function<void(int64_t kernel, const lower::KernelChoices &, std::vector<void *> outputs)>
      tamper;
};

// `base` must be the Choices the graph would compile with untuned. Throws kiln::Error only
// when the base graph does not compile (a variant that fails to compile is rejected).
[[nodiscard]] Result tune(const ir::Graph &g, const lower::Target &target,
                          const lower::Choices &base, const Options &options);

// The result as a table, for KILN_LOGS=autotune.
[[nodiscard]] std::string describe(const Result &r, const std::string &fn);

}  // namespace kiln::autotune
