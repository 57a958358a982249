// The optimizers of kiln/optim.h. Each update is written out of place and copied into the
// parameter's (or state's) memory, so the parameter tensors stay the same objects. Every
// number that changes between steps (learning rate, step count, bias corrections) is a 0-d
// tensor, so a compiled step reads it at each call instead of keeping a traced constant.
#include "kiln/optim.h"

#include <cmath>

#include "ir/diag.h"
#include "kiln/autograd.h"
#include "kiln/ops.h"

namespace kiln::optim {
namespace {

// A 0-d f64 tensor converted to `like`'s dtype once per step and dtype.
class PerDtype {
 public:
  explicit PerDtype(Tensor value) : value_(std::move(value)) {}
  const Tensor &operator()(const Tensor &like) {
    for (const Tensor &t : converted_)
      if (t.dtype() == like.dtype()) return t;
    return converted_.emplace_back(value_.to(like.dtype()));
  }

 private:
  Tensor value_;
  std::vector<Tensor> converted_;
};

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params, double lr, const char *name)
    : params_(std::move(params)), lr_(zeros({}, DType::F64)), name_(name) {
  if (params_.empty()) fail("{}: the parameter list is empty", name_);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].defined()) fail("{}: parameter {} is an undefined tensor", name_, i);
    if (!params_[i].is_leaf())
      fail(
          "{}: parameter {} was made by {} from other tensors, not a leaf it can update\n"
          "  hint: pass detach() of it, with requires_grad_()",
          name_, i, params_[i].grad_fn_name());
    if (!params_[i].requires_grad())
      fail("{}: parameter {} does not require grad\n  hint: call requires_grad_() on it", name_, i);
    steps_.push_back(zeros({}, DType::F64));
  }
  set_lr(lr);
}

double Optimizer::lr() const { return lr_.item<double>(); }

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0.0) || !std::isfinite(lr))
    fail("{}: the learning rate must be a finite number >= 0, got {}", name_, lr);
  NoGradGuard no_grad;
  lr_.fill_(lr);
}

void Optimizer::zero_grad() const {
  for (const Tensor &p : params_) p.set_grad(Tensor());
}

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : Optimizer(std::move(params), options.lr, "SGD"), options_(options) {
  if (options.momentum < 0) fail("SGD: momentum must be >= 0, got {}", options.momentum);
  if (options.nesterov && (options.momentum <= 0 || options.dampening != 0))
    fail("SGD: nesterov needs a positive momentum and zero dampening");
  if (options.momentum != 0)
    for (const Tensor &p : params_) momentum_.push_back(zeros_like(p));
}

void SGD::step() {
  NoGradGuard no_grad;
  PerDtype lr(lr_);
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor &p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (options_.weight_decay != 0) g = g + p * options_.weight_decay;
    if (options_.momentum != 0) {
      // The first step's buffer is the gradient itself; later ones damp it.
      const Tensor keep =
          where(steps_[i] > 0, full({}, 1.0 - options_.dampening, DType::F64), 1.0).to(p.dtype());
      const Tensor &b = momentum_[i];
      b.copy_(b * options_.momentum + g * keep);
      g = options_.nesterov ? g + b * options_.momentum : b;
    }
    p.copy_(p - g * lr(p));
    steps_[i].add_(1);
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

int64_t Adam::steps_taken(size_t i) const {
  return static_cast<int64_t>(steps_.at(i).item<double>());
}

void Adam::step() {
  NoGradGuard no_grad;
  PerDtype decay(1 - lr_ * options_.weight_decay);
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor &p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const Tensor &t = steps_[i];
    t.add_(1);
    auto correction = [&](double beta) { return 1 - pow(full({}, beta, DType::F64), t); };
    const Tensor step_size = (lr_ / correction(options_.beta1)).to(p.dtype());
    const Tensor bias2_sqrt = sqrt(correction(options_.beta2)).to(p.dtype());
    Tensor value = p;
    if (options_.weight_decay != 0) {
      if (decoupled_)
        value = p * decay(p);
      else
        g = g + p * options_.weight_decay;
    }
    const Tensor &m = exp_avg_[i], &v = exp_avg_sq_[i];
    m.copy_(m * options_.beta1 + g * (1 - options_.beta1));
    v.copy_(v * options_.beta2 + g * g * (1 - options_.beta2));
    p.copy_(value - m / (sqrt(v) / bias2_sqrt + options_.eps) * step_size);
  }
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions o)
    : Adam(std::move(params),
           {.lr = o.lr,
            .beta1 = o.beta1,
            .beta2 = o.beta2,
            .eps = o.eps,
            .weight_decay = o.weight_decay},
           /*decoupled=*/true, "AdamW") {}

}  // namespace kiln::optim
