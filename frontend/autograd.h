// Autograd's insides: the gradient node an op records and the metadata a tensor carries.
// The engine (autograd.cpp) records and walks nodes; derivatives.cpp holds the formulas.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "ir/tensor_type.h"
#include "kiln/tensor.h"

namespace kiln::autograd {

struct Node;

// Where one input's gradient goes: the node that produced the input, or the leaf tensor
// that accumulates it in .grad(), or (both empty) nowhere, for inputs needing no gradient.
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<detail::TensorImpl> leaf;
  [[nodiscard]] bool needed() const { return node != nullptr || leaf != nullptr; }
};

// A tensor a formula needs, without its own history (no cycle back to the node), and the
// storage version it had, so a later in-place write to it is caught rather than used. A
// tensor the formula needs only the type of has no storage (saved_parts).
struct SavedTensor {
  Tensor data;
  uint64_t version = 0;
  bool values = false;  // false: the formula reads only its type (or, for a view, its version)
};

// One recorded op. Every op has one output, so a node's gradient is one tensor.
struct Node {
  OpKind op;
  Attrs attrs;
  std::vector<SavedTensor> inputs;
  SavedTensor output;
  std::vector<Edge> next;  // one per input
  // The node's output, when the user asked it to keep its gradient (retain_grad).
  std::weak_ptr<detail::TensorImpl> retained;
  bool released = false;  // saved tensors freed by a backward without retain_graph

  [[nodiscard]] const Tensor &input(size_t i) const { return inputs[i].data; }
  [[nodiscard]] const Tensor &result() const { return output.data; }
};

// Records a node for `result` if recording is on and an input requires grad. The one
// call dispatch() makes into autograd.
void record(OpKind op, std::span<const Tensor> inputs, const Attrs &attrs, Tensor &result);

// The gradients of a node's inputs given its output's gradient: one entry per input,
// undefined where needed[i] is false or the input has no gradient (derivatives.cpp).
[[nodiscard]] std::vector<Tensor> derivative(const Node &node, const Tensor &grad,
                                             const std::vector<bool> &needed);

// Which values a node keeps for its formula; the others keep only their dtype and shape,
// so memory is freed early and an in-place write to them afterwards is no error.
struct SavedParts {
  bool inputs = true;
  bool output = false;
};
[[nodiscard]] SavedParts saved_parts(OpKind op);

// Whether ops of this kind can carry a gradient to their inputs at all.
[[nodiscard]] bool differentiable(OpKind op);

// Whether gradients flow to this tensor: a leaf that requires grad, or made by an op.
[[nodiscard]] bool requires_grad(const detail::TensorImpl &t);

// A copy of t sharing its data but not its history.
[[nodiscard]] Tensor without_history(const Tensor &t);

}  // namespace kiln::autograd

namespace kiln::detail {

// What a tensor needs for autograd; absent on tensors that never required a gradient.
struct AutogradMeta {
  bool requires_grad = false;  // a leaf the user marked (requires_grad_)
  Tensor grad;
  std::shared_ptr<autograd::Node> grad_fn;  // the op that made it; null for leaves
};

}  // namespace kiln::detail
