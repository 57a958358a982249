// The README's demo: a small eager program on kiln::Tensor, its result, and how long the
// eager W1 pointwise chain takes on this machine. (compile() joins it when it lands.)
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
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
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

  // W1 from ../shared/WORKLOADS.md, eager: seven kernels, each a full pass over memory.
  const int64_t n = 1 << 24;
  kiln::Tensor a = kiln::randn({n}), c = kiln::randn({n}), v = kiln::randn({n});
  auto w1 = [&] {
    kiln::Tensor y = kiln::gelu(v * a + c) * kiln::sigmoid(v) + kiln::tanh(v) * 0.5;
    (void)y;
  };
  double ms = median_ms(w1, 5);
  std::printf("W1 eager  gelu(x*a+b)*sigmoid(x)+tanh(x)*0.5 on %lld floats: %.2f ms (%d threads)\n",
              static_cast<long long>(n), ms, kiln::num_threads());
  return 0;
}
