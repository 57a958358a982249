// Timing done one way for every benchmark: warm-up, then runs until a time budget,
// reporting median and spread.
#pragma once

#include <functional>

namespace kiln::perf {

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int runs = 0;
};

[[nodiscard]] Timing measure(const std::function<void()> &fn, double budget_s, int min_runs = 3,
                             int warmups = 2);

// STREAM triad a = b + s*c over 64M floats on the runtime thread pool, in GB/s
// (counting 3 arrays moved, as STREAM does).
[[nodiscard]] double stream_triad_gbs(double budget_s);

}  // namespace kiln::perf
