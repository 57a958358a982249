// The README's demo: a small eager program, the same program under kiln::compile with its
// IR and guards, and W1 (../shared/WORKLOADS.md) timed eagerly and compiled.
#include <kiln/kiln.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <vector>

namespace {

double median_ms(const std::function<void()> &fn, int runs) {
  std::vector<double> ms;
  fn();  // warm-up: allocator cache and threads
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main() {
  kiln::manual_seed(0);
  kiln::Tensor x = kiln::randn({4, 3});
  kiln::Tensor w = kiln::randn({2, 3}) / std::sqrt(3.0);
  kiln::Tensor b = kiln::zeros({2});

  // A linear layer, an activation, and a softmax: ordinary eager code.
  kiln::Tensor h = kiln::relu(kiln::linear(x, w, b));
  kiln::Tensor p = kiln::softmax(h, -1);
  std::cout << "x = " << x << "\n"
            << "relu(linear(x, w, b)) = " << h << "\n"
            << "softmax(.., -1) = " << p << "\n"
            << "row sums = " << kiln::sum(p, 1) << "\n\n";

  // The same model, compiled: traced on the first call, then guarded and reused.
  auto model = [](kiln::Tensor x, kiln::Tensor w, kiln::Tensor b) {
    return kiln::softmax(kiln::relu(kiln::linear(x, w, b)), -1);
  };
  auto compiled = kiln::compile(model, {.name = "model", .arg_names = {"x", "w", "b"}});
  kiln::Tensor q = compiled(x, w, b);
  std::cout << "compiled(x, w, b) == eager: " << std::boolalpha
            << kiln::all(kiln::abs(q - p) < 1e-6).item<bool>() << "\n\n"
            << kiln::explain(compiled, x, w, b).str() << "\n";

  // W1, eager: seven kernels, each a full pass over memory.
  const int64_t n = 1 << 24;
  kiln::Tensor a = kiln::randn({n}), c = kiln::randn({n}), v = kiln::randn({n});
  auto w1 = [](kiln::Tensor x, kiln::Tensor a, kiln::Tensor b) {
    return kiln::gelu(x * a + b) * kiln::sigmoid(x) + kiln::tanh(x) * 0.5;
  };
  auto w1_compiled = kiln::compile(w1, {.name = "w1", .arg_names = {"x", "a", "b"}});
  double eager_ms = median_ms([&] { (void)w1(v, a, c); }, 5);
  double compiled_ms = median_ms([&] { (void)w1_compiled(v, a, c); }, 5);
  std::printf(
      "W1 gelu(x*a+b)*sigmoid(x)+tanh(x)*0.5 on %lld floats, %d threads:\n"
      "  eager    %8.2f ms\n  compiled %8.2f ms  (speedup %.2fx: one generated kernel "
      "instead of one eager kernel per op)\n",
      static_cast<long long>(n), kiln::num_threads(), eager_ms, compiled_ms,
      eager_ms / compiled_ms);
  std::printf(
      "\nTo see every stage of these compiles as a web page: KILN_TRACE=trace.jsonl ./demo.sh,\n"
      "then build/tools/kiln-report --output=report trace.jsonl and open report/index.html.\n"
      "KILN_PROFILE=1 ./demo.sh prints where each compiled call's time goes.\n");
  return 0;
}
