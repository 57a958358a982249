// Timing done one way for every benchmark: warm-up, then runs until a time budget,
// reporting median and spread. Several runners are timed interleaved (A B C A B C …) so
// a noisy machine slows them alike, and ratios are taken per round.
#pragma once

#include <functional>
#include <vector>

namespace kiln::perf {

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int runs = 0;
  std::vector<double> samples_ms;  // in run order
};

[[nodiscard]] Timing measure(const std::function<void()> &fn, double budget_s, int min_runs = 3,
                             int warmups = 2);

// Times each runner once per round, round after round, until the budget is spent.
[[nodiscard]] std::vector<Timing> measure_interleaved(const std::vector<std::function<void()>> &fns,
                                                      double budget_s, int min_rounds = 3);

// The median over rounds of a.samples[i] / b.samples[i].
[[nodiscard]] double median_ratio(const Timing &a, const Timing &b);

// STREAM triad a = b + s*c over 64M floats on the runtime thread pool, in GB/s
// (counting 3 arrays moved, as STREAM does).
[[nodiscard]] double stream_triad_gbs(double budget_s);

// kiln's own f32 matmul rates on 2048x2048 matrices, in GFLOP/s (best run each): the eager
// kernel (runtime/reference/matmul.cpp) and the generated one of a compiled matmul.
struct GemmRates {
  double eager = 0, compiled = 0;
};
[[nodiscard]] GemmRates kiln_gemm_gflops(double budget_s);

}  // namespace kiln::perf
