// Median-of-runs timing and the STREAM-triad bandwidth probe.
#include "timing.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "runtime/allocator.h"
#include "runtime/thread_pool.h"

namespace kiln::perf {

Timing measure(const std::function<void()> &fn, double budget_s, int min_runs, int warmups) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < warmups; ++i) fn();
  std::vector<double> ms;
  const auto start = clock::now();
  while (static_cast<int>(ms.size()) < min_runs ||
         std::chrono::duration<double>(clock::now() - start).count() < budget_s) {
    const auto t0 = clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    if (ms.size() >= 1000) break;
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms.back(), static_cast<int>(ms.size())};
}

double stream_triad_gbs(double budget_s) {
  const int64_t n = int64_t{1} << 26;
  auto alloc = [&] { return static_cast<float *>(runtime::allocate(n * sizeof(float))); };
  float *a = alloc(), *b = alloc(), *c = alloc();
  runtime::parallel_for(n, 1 << 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) a[i] = 0, b[i] = 1, c[i] = 2;  // first touch by the pool
  });
  Timing t = measure([&] {
    runtime::parallel_for(n, 1 << 16, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) a[i] = b[i] + 3.0f * c[i];
    });
  }, budget_s);
  for (float *p : {a, b, c}) runtime::release(p, n * sizeof(float));
  return 3.0 * n * sizeof(float) / (t.median_ms * 1e-3) / 1e9;
}

}  // namespace kiln::perf
