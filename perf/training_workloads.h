// The training workloads of ../shared/WORKLOADS.md: W7 (a step of W5's tiny model) and W10
// (a step of W4's MLP), each MSE against a target, backward, and Adam (lr 1e-3). A step
// changes its model, so a workload makes independent copies: one trained eagerly, one by
// compile() of the same step function, each starting from the same weights.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "kiln/kiln.h"

namespace kiln::perf {

// A model, its optimizer and one batch: step() runs zero_grad, forward, backward, step.
struct Trainer {
  std::shared_ptr<nn::Module> model;
  std::shared_ptr<optim::Optimizer> optimizer;
  Tensor x, target;
  // One step on (x, target); returns the loss before the update.
  std::function<Tensor(const Tensor &, const Tensor &)> step;
};

struct TrainingWorkload {
  std::string id;
  std::string description;
  double flops = 0;               // forward + backward, about 3x the forward's
  std::function<Trainer()> make;  // same weights and data each time (manual_seed(0))
};

[[nodiscard]] std::vector<TrainingWorkload> training_workloads();

}  // namespace kiln::perf
