// The classic training loop: Linear(5, 10) -> ReLU -> Linear(10, 1), MSE loss, Adam (lr 1e-3),
// a fixed seeded data set of 1024 rows in batches of 64, 10 epochs. Trained twice from the
// same start: eagerly, and with the whole step (zero_grad, forward, backward, Adam's update)
// compiled into one graph. Prints the loss per epoch and the time per step.
#include <kiln/kiln.h>

#include <chrono>
#include <cstdio>

using namespace kiln;

namespace {

constexpr int64_t kRows = 1024, kBatch = 64, kEpochs = 10;

struct Result {
  std::vector<double> epoch_loss;
  double us_per_step = 0;  // after the first step (which traces and compiles)
  double first_step_ms = 0;
  int kernels = 0;
  std::vector<Tensor> params;
};

Result train(const Tensor &x_all, const Tensor &y_all, bool compiled) {
  manual_seed(1);  // the same initial weights both times
  nn::Sequential model({nn::linear(5, 10), nn::relu(), nn::linear(10, 1)});
  optim::Adam opt(model.parameters(), {.lr = 1e-3});

  auto step = [&](const Tensor &x, const Tensor &y) {
    opt.zero_grad();
    Tensor loss = mse_loss(model(x), y);
    loss.backward();
    opt.step();
    return loss;
  };
  // The model's parameters and Adam's state are captured: each compiled call reads their
  // current values and writes the updated ones back into their memory.
  auto compiled_step = compile(step, {.name = "train_step"});

  Result r;
  double seconds = 0;
  using Clock = std::chrono::steady_clock;
  for (int64_t epoch = 0; epoch < kEpochs; ++epoch) {
    double total = 0;
    for (int64_t b = 0; b < kRows / kBatch; ++b) {
      const Tensor x = x_all.narrow(0, b * kBatch, kBatch), y = y_all.narrow(0, b * kBatch, kBatch);
      const auto start = Clock::now();
      const Tensor loss = compiled ? compiled_step(x, y) : step(x, y);
      const double step_s = std::chrono::duration<double>(Clock::now() - start).count();
      if (epoch == 0 && b == 0)
        r.first_step_ms = step_s * 1e3;
      else
        seconds += step_s;
      total += loss.item<double>();
    }
    r.epoch_loss.push_back(total / (kRows / kBatch));
  }
  r.us_per_step = seconds * 1e6 / static_cast<double>(kEpochs * (kRows / kBatch) - 1);
  if (compiled) {
    const Explanation e =
        compiled_step.explain(x_all.narrow(0, 0, kBatch), y_all.narrow(0, 0, kBatch));
    r.kernels = e.entries.at(0).kernels;
    if (std::getenv("SHOW_IR") != nullptr) std::printf("%s\n", e.str().c_str());
  }
  r.params = model.parameters();
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
  std::printf(
      "time per step (after the first): eager %.1f us, compiled %.1f us (%.1fx), %d kernels "
      "per compiled step\n",
      eager.us_per_step, compiled.us_per_step, eager.us_per_step / compiled.us_per_step,
      compiled.kernels);
  std::printf("the compiled run's first step (trace, compile or cache load): %.1f ms\n",
              compiled.first_step_ms);
  std::printf("largest parameter difference at the end: %.3g\n", max_diff);
}
