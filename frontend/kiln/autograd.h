// Autograd: gradients of eager (and traced) programs, as in torch.autograd.
//
//   Tensor w = randn({3, 2}).requires_grad_();
//   Tensor loss = sum(relu(matmul(x, w)));
//   loss.backward();          // w.grad() now holds d loss / d w
//
// Every op that a tensor requiring grad flows into records a node (its op, its attrs and
// the tensors its gradient formula needs); backward() walks those nodes from the output,
// applying each op's formula (frontend/derivatives.cpp), written with kiln ops so that a
// backward traced by compile() is fused like any other code.
#pragma once

#include <vector>

#include "kiln/tensor.h"

namespace kiln {

// Whether ops record gradient nodes on this thread (default true).
[[nodiscard]] bool grad_enabled();
void set_grad_enabled(bool enabled);

// Turns recording off for its scope, as torch.no_grad(): optimizer updates, evaluation.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard &) = delete;
  NoGradGuard &operator=(const NoGradGuard &) = delete;

 private:
  bool previous_;
};

// Runs fn with recording off and returns what it returns.
template <class Fn>
decltype(auto) no_grad(Fn &&fn) {
  NoGradGuard guard;
  return fn();
}

// torch.autograd.grad: the gradients of `outputs` (weighted by `grad_outputs`, default ones
// for one-element outputs) with respect to `inputs`, returned rather than accumulated into
// .grad(). An input the outputs do not depend on gets zeros when allow_unused, else an error.
[[nodiscard]] std::vector<Tensor> grad(const std::vector<Tensor> &outputs,
                                       const std::vector<Tensor> &inputs,
                                       const std::vector<Tensor> &grad_outputs = {},
                                       bool retain_graph = false, bool allow_unused = false);

}  // namespace kiln
