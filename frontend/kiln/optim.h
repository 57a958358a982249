// kiln::optim: optimizers over a module's parameters, with PyTorch's update formulas
// (torch.optim's documentation gives each one; the tests check steps by hand).
//
//   optim::Adam opt(model.parameters(), {.lr = 1e-3});
//   opt.zero_grad(); loss.backward(); opt.step();
//
// step() updates the parameters in place under NoGradGuard, so views and compiled
// functions that captured them see the new values. The learning rate and the step count
// are 0-d tensors, not C++ numbers: a compiled function that calls step() reads them at
// each call (set_lr between calls is never missed, and a schedule does not recompile), and
// writes the step count back like any other state.
#pragma once

#include <vector>

#include "kiln/tensor.h"

namespace kiln::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter that has a gradient (the others are left alone).
  virtual void step() = 0;
  void zero_grad() const;  // clears the gradients (to undefined, as set_to_none)
  [[nodiscard]] double lr() const;
  void set_lr(double lr);  // for schedules; inside a compiled function too
  [[nodiscard]] const std::vector<Tensor> &params() const { return params_; }

 protected:
  Optimizer(std::vector<Tensor> params, double lr, const char *name);
  std::vector<Tensor> params_;
  Tensor lr_;  // 0-d f64
  // Per parameter, 0-d f64: the steps that updated it (a step skips a parameter without a
  // gradient, as PyTorch's per-parameter state does).
  std::vector<Tensor> steps_;
  const char *name_;
};

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// g = grad + weight_decay * p; with momentum, b = g on the first step, then
// b = momentum * b + (1 - dampening) * g, and g = b (or g + momentum * b, nesterov);
// p -= lr * g.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);
  void step() override;

 private:
  SGDOptions options_;
  std::vector<Tensor> momentum_;  // per parameter, zeros before the first step
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // added to the gradient
};

// AdamW's own defaults (PyTorch's): decoupled weight decay 1e-2.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;  // decoupled: p *= 1 - lr * weight_decay
};

// t += 1; m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²;
// p -= lr / (1-β1^t) * m / (sqrt(v) / sqrt(1-β2^t) + eps), with g = grad + wd * p (Adam)
// or p *= 1 - lr * wd first (AdamW).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options = {});
  void step() override;
  // The steps that updated parameter i.
  [[nodiscard]] int64_t steps_taken(size_t i = 0) const;

 protected:
  Adam(std::vector<Tensor> params, AdamOptions options, bool decoupled, const char *name);

 private:
  AdamOptions options_;
  bool decoupled_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions options = {});
};

}  // namespace kiln::optim
