// Median-of-runs timing and the STREAM-triad bandwidth probe.
#include "timing.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "kiln/kiln.h"
#include "runtime/allocator.h"
#include "runtime/thread_pool.h"

namespace kiln::perf {

namespace {

Timing summarize(std::vector<double> ms) {
  Timing t;
  t.samples_ms = ms;
  std::sort(ms.begin(), ms.end());
  t.median_ms = ms[ms.size() / 2];
  t.min_ms = ms.front();
  t.max_ms = ms.back();
  t.runs = static_cast<int>(ms.size());
  return t;
}

}  // namespace

Timing measure(const std::function<void()> &fn, double budget_s, int min_runs, int warmups) {
  for (int i = 0; i < warmups; ++i) fn();
  return measure_interleaved({fn}, budget_s, min_runs)[0];
}

std::vector<Timing> measure_interleaved(const std::vector<std::function<void()>> &fns,
                                        double budget_s, int min_rounds) {
  using clock = std::chrono::steady_clock;
  std::vector<std::vector<double>> ms(fns.size());
  const auto start = clock::now();
  for (int round = 0;; ++round) {
    const bool spent = std::chrono::duration<double>(clock::now() - start).count() >= budget_s;
    if ((round >= min_rounds && spent) || round >= 1000) break;
    for (size_t k = 0; k < fns.size(); ++k) {
      const auto t0 = clock::now();
      fns[k]();
      ms[k].push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    }
  }
  std::vector<Timing> out;
  for (auto &m : ms) out.push_back(summarize(std::move(m)));
  return out;
}

double median_ratio(const Timing &a, const Timing &b) {
  std::vector<double> r;
  for (size_t i = 0; i < a.samples_ms.size() && i < b.samples_ms.size(); ++i)
    r.push_back(a.samples_ms[i] / b.samples_ms[i]);
  std::sort(r.begin(), r.end());
  return r.empty() ? 0.0 : r[r.size() / 2];
}

double stream_triad_gbs(double budget_s) {
  const int64_t n = int64_t{1} << 26;
  auto alloc = [&] { return static_cast<float *>(runtime::allocate(n * sizeof(float))); };
  float *a = alloc(), *b = alloc(), *c = alloc();
  runtime::parallel_for(n, 1 << 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) a[i] = 0, b[i] = 1, c[i] = 2;  // first touch by the pool
  });
  Timing t = measure(
      [&] {
        runtime::parallel_for(n, 1 << 16, [&](int64_t lo, int64_t hi) {
          for (int64_t i = lo; i < hi; ++i) a[i] = b[i] + 3.0f * c[i];
        });
      },
      budget_s);
  for (float *p : {a, b, c}) runtime::release(p, n * sizeof(float));
  return 3.0 * n * sizeof(float) / (t.median_ms * 1e-3) / 1e9;
}

GemmRates kiln_gemm_gflops(double budget_s) {
  const int64_t n = 2048;
  Tensor a = randn({n, n}), b = randn({n, n});
  // Heuristic tiles: the probe measures the machine, not a search (which takes seconds here).
  auto compiled = compile([](Tensor x, Tensor y) { return matmul(x, y); },
                          {.name = "gemm_peak", .autotune = AutotuneMode::Off});
  auto rate = [&](const std::function<void()> &run) {
    return 2.0 * n * n * n / (measure(run, budget_s / 2, 3, 1).min_ms * 1e-3) / 1e9;
  };
  return {.eager = rate([&] { (void)matmul(a, b); }),
          .compiled = rate([&] { (void)compiled(a, b); })};
}

}  // namespace kiln::perf
