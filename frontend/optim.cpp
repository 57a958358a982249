// The optimizers of kiln/optim.h. Each update is written out of place and copied into the
// parameter's (or state's) memory, so the parameter tensors stay the same objects.
#include "kiln/optim.h"

#include <cmath>

#include "ir/diag.h"
#include "kiln/autograd.h"
#include "kiln/ops.h"

namespace kiln::optim {

Optimizer::Optimizer(std::vector<Tensor> params, double lr, const char *name)
    : params_(std::move(params)), lr_(lr), name_(name) {
  if (params_.empty()) fail("{}: the parameter list is empty", name_);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].defined()) fail("{}: parameter {} is an undefined tensor", name_, i);
    if (!params_[i].requires_grad() || !params_[i].is_leaf())
      fail("{}: parameter {} is not a leaf that requires grad\n  hint: call requires_grad_() on it",
           name_, i);
  }
  set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0.0) || !std::isfinite(lr))
    fail("{}: the learning rate must be a finite number >= 0, got {}", name_, lr);
  lr_ = lr;
}

void Optimizer::zero_grad() const {
  for (const Tensor &p : params_) p.set_grad(Tensor());
}

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : Optimizer(std::move(params), options.lr, "SGD"), options_(options) {
  if (options.momentum < 0) fail("SGD: momentum must be >= 0, got {}", options.momentum);
  if (options.nesterov && (options.momentum <= 0 || options.dampening != 0))
    fail("SGD: nesterov needs a positive momentum and zero dampening");
  momentum_.resize(params_.size());
}

void SGD::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor &p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (options_.weight_decay != 0) g = g + p * options_.weight_decay;
    if (options_.momentum != 0) {
      Tensor &b = momentum_[i];
      if (!b.defined())
        b = clone(g);
      else
        b.copy_(b * options_.momentum + g * (1 - options_.dampening));
      g = options_.nesterov ? g + b * options_.momentum : b;
    }
    p.copy_(p - g * lr_);
  }
}

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(std::move(params), options, /*decoupled=*/false, "Adam") {}

Adam::Adam(std::vector<Tensor> params, AdamOptions options, bool decoupled, const char *name)
    : Optimizer(std::move(params), options.lr, name), options_(options), decoupled_(decoupled) {
  for (double beta : {options.beta1, options.beta2})
    if (!(beta >= 0 && beta < 1)) fail("{}: betas must be in [0, 1), got {}", name_, beta);
  if (!(options.eps >= 0)) fail("{}: eps must be >= 0, got {}", name_, options.eps);
  for (const Tensor &p : params_) {
    exp_avg_.push_back(zeros_like(p));
    exp_avg_sq_.push_back(zeros_like(p));
  }
}

void Adam::step() {
  NoGradGuard no_grad;
  ++steps_;
  const double t = static_cast<double>(steps_);
  const double bias1 = 1 - std::pow(options_.beta1, t), bias2 = 1 - std::pow(options_.beta2, t);
  const double step_size = lr_ / bias1, bias2_sqrt = std::sqrt(bias2);
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor &p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    Tensor value = p;
    if (options_.weight_decay != 0) {
      if (decoupled_)
        value = p * (1 - lr_ * options_.weight_decay);
      else
        g = g + p * options_.weight_decay;
    }
    const Tensor &m = exp_avg_[i], &v = exp_avg_sq_[i];
    m.copy_(m * options_.beta1 + g * (1 - options_.beta1));
    v.copy_(v * options_.beta2 + g * g * (1 - options_.beta2));
    p.copy_(value - m / (sqrt(v) / bias2_sqrt + options_.eps) * step_size);
  }
}

AdamW::AdamW(std::vector<Tensor> params, AdamOptions options)
    : Adam(std::move(params), options, /*decoupled=*/true, "AdamW") {}

}  // namespace kiln::optim
