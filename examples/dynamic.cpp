// Dynamic shapes: one compiled model called with a batch size that changes on every call.
// The second size recompiles once with the batch dim as a symbol (s0); every later size
// reuses that entry: no passes or code generation, only one trace to check that it holds.
#include <kiln/kiln.h>

#include <cmath>
#include <iostream>

int main() {
  kiln::manual_seed(0);
  kiln::Tensor w1 = kiln::randn({16, 8}) / std::sqrt(8.0), b1 = kiln::zeros({16});
  kiln::Tensor w2 = kiln::randn({4, 16}) / 4.0, b2 = kiln::zeros({4});
  auto model = kiln::compile(
      [&](kiln::Tensor x) {
        return kiln::softmax(kiln::linear(kiln::gelu(kiln::linear(x, w1, b1)), w2, b2), -1);
      },
      {.name = "model", .arg_names = {"x"}});  // dynamic = Dynamic::Auto, the default

  double worst = 0;
  for (int64_t batch : {32, 48, 7, 100, 3, 64}) {
    kiln::Tensor x = kiln::randn({batch, 8});
    kiln::Tensor eager =
        kiln::softmax(kiln::linear(kiln::gelu(kiln::linear(x, w1, b1)), w2, b2), -1);
    worst = std::max(worst, kiln::max(kiln::abs(model(x) - eager)).item<double>());
  }
  std::cout << "six batch sizes, largest difference from eager: " << worst << "\n\n";
  std::cout << kiln::explain(model, kiln::randn({5, 8})).str();
}
