// W7 and W10: training steps of W5's and W4's models (see training_workloads.h).
#include "training_workloads.h"

#include <cmath>

namespace kiln::perf {
namespace {

// Linear layers with W4's and W5's initialisation (randn scaled by 1/sqrt(fan_in)).
std::shared_ptr<nn::Linear> layer(int64_t in, int64_t out) {
  auto l = nn::linear(in, out);
  NoGradGuard no_grad;
  const double scale = 1 / std::sqrt(static_cast<double>(in));
  l->weight.copy_(randn({out, in}) * scale);
  l->bias.copy_(randn({out}) * scale);
  return l;
}

Trainer trainer(std::shared_ptr<nn::Module> model, Tensor x, Tensor target) {
  Trainer t;
  t.model = std::move(model);
  t.optimizer =
      std::make_shared<optim::Adam>(t.model->parameters(), optim::AdamOptions{.lr = 1e-3});
  t.x = std::move(x);
  t.target = std::move(target);
  nn::Module *m = t.model.get();
  optim::Optimizer *opt = t.optimizer.get();
  t.step = [m, opt](const Tensor &x, const Tensor &y) {
    opt->zero_grad();
    Tensor loss = mse_loss((*m)(x), y);
    loss.backward();
    opt->step();
    return loss;
  };
  return t;
}

}  // namespace

std::vector<TrainingWorkload> training_workloads() {
  std::vector<TrainingWorkload> w;
  w.push_back({"W7", "training step of W5's model: MSE, backward, Adam, x [64,5]",
               3 * 2.0 * 64 * (5 * 10 + 10 * 1), [] {
                 manual_seed(0);
                 Tensor x = randn({64, 5});
                 auto model =
                     std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
                         layer(5, 10), nn::relu(), layer(10, 1)});
                 return trainer(model, x, randn({64, 1}));
               }});
  w.push_back({"W10", "training step of W4's MLP: MSE, backward, Adam, x [512,1024]",
               3 * 2.0 * 2 * 512 * 1024 * 4096, [] {
                 manual_seed(0);
                 Tensor x = randn({512, 1024});
                 auto model =
                     std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
                         layer(1024, 4096), std::make_shared<nn::GELU>(), layer(4096, 1024)});
                 return trainer(model, x, randn({512, 1024}));
               }});
  return w;
}

}  // namespace kiln::perf
