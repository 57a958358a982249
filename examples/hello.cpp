// The README's ten-line example, built so it cannot drift from the API.
#include <kiln/kiln.h>

#include <iostream>

int main() {
  kiln::manual_seed(0);
  kiln::Tensor x = kiln::randn({4, 3});
  kiln::Tensor w = kiln::randn({2, 3}), b = kiln::zeros({2});
  kiln::Tensor p = kiln::softmax(kiln::relu(kiln::linear(x, w, b)), -1);
  std::cout << p << "\n";
  std::cout << kiln::sum(p, 1).tolist<float>()[0] << "\n";
}
