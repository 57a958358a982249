// The classic training loop: Linear(5, 10) -> ReLU -> Linear(10, 1), MSE loss, Adam (lr 1e-3),
// a fixed seeded data set of 1024 rows in batches of 64, 10 epochs. Trained twice from the
// same start: eagerly (zero_grad, backward, step), and with the forward and backward
// compiled into one graph (kiln::grad inside compile) and the optimizer step eager.
#include <kiln/kiln.h>

#include <chrono>
#include <cstdio>

using namespace kiln;

namespace {

constexpr int64_t kRows = 1024, kBatch = 64, kEpochs = 10;

struct Result {
  std::vector<double> epoch_loss;
  double us_per_step = 0;
  std::vector<Tensor> params;
};

Result train(const Tensor &x_all, const Tensor &y_all, bool compiled) {
  manual_seed(1);  // the same initial weights both times
  nn::Sequential model({nn::linear(5, 10), nn::relu(), nn::linear(10, 1)});
  optim::Adam opt(model.parameters(), {.lr = 1e-3});
  const std::vector<Tensor> params = model.parameters();

  // Loss and gradients as one function of the batch: the parameters are captured, so the
  // compiled graph reads their current values at each call.
  auto loss_and_grads = [&](const Tensor &x, const Tensor &y) {
    Tensor loss = mse_loss(model(x), y);
    std::vector<Tensor> out = grad({loss}, params);
    out.insert(out.begin(), loss);
    return out;
  };
  auto compiled_step = compile(loss_and_grads, {.name = "mlp_step"});

  Result r;
  double seconds = 0;
  for (int64_t epoch = 0; epoch < kEpochs; ++epoch) {
    double total = 0;
    for (int64_t b = 0; b < kRows / kBatch; ++b) {
      const Tensor x = x_all.narrow(0, b * kBatch, kBatch), y = y_all.narrow(0, b * kBatch, kBatch);
      const auto start = std::chrono::steady_clock::now();
      Tensor loss;
      if (compiled) {
        std::vector<Tensor> out = compiled_step(x, y);
        loss = out[0];
        for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(out[i + 1]);
      } else {
        opt.zero_grad();
        loss = mse_loss(model(x), y);
        loss.backward();
      }
      opt.step();
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      total += loss.item<double>();
    }
    r.epoch_loss.push_back(total / (kRows / kBatch));
  }
  r.us_per_step = seconds * 1e6 / static_cast<double>(kEpochs * (kRows / kBatch));
  r.params = params;
  return r;
}

}  // namespace

int main() {
  manual_seed(0);
  const Tensor x = randn({kRows, 5});
  const Tensor y = matmul(x, randn({5, 1})) + randn({kRows, 1}) * 0.1;

  const Result eager = train(x, y, /*compiled=*/false);
  const Result compiled = train(x, y, /*compiled=*/true);
  std::printf("epoch   eager loss   compiled loss\n");
  for (int64_t e = 0; e < kEpochs; ++e)
    std::printf("%5lld   %10.6f   %13.6f\n", static_cast<long long>(e + 1), eager.epoch_loss[e],
                compiled.epoch_loss[e]);
  double max_diff = 0;
  for (size_t i = 0; i < eager.params.size(); ++i)
    max_diff = std::max(max_diff, max(abs(eager.params[i] - compiled.params[i])).item<double>());
  std::printf("time per step: eager %.1f us, compiled forward+backward %.1f us (%.1fx)\n",
              eager.us_per_step, compiled.us_per_step, eager.us_per_step / compiled.us_per_step);
  std::printf("largest parameter difference at the end: %.3g\n", max_diff);
}
