// In-place ops: each computes its out-of-place form, then writes the values into the
// tensor's own memory, bumps the storage's version (so autograd notices a saved tensor
// changing) and, when recording, moves the tensor's history onto the new op.
#include <functional>

#include "autograd.h"
#include "dispatch.h"
#include "ir/diag.h"
#include "kiln/autograd.h"
#include "kiln/ops.h"
#include "runtime/execute.h"
#include "runtime/reference/elementwise.h"
#include "tracer/trace.h"

namespace kiln {
namespace {

void check_writable(const Tensor &self, const char *name) {
  if (!self.defined()) fail("{}: the tensor is undefined", name);
  if (self.impl().trace != nullptr && tracer::active() != self.impl().trace)
    fail("{}: the tensor is a tracing proxy of a compiled function, used outside its trace", name);
  if (self.impl().trace != nullptr)
    tracer::graph_break(name,
                        "in-place writes to arguments and to values computed inside a compiled "
                        "function are not traced (write y = y + 1 instead); writes to tensors the "
                        "function captures (weights, optimizer state) are");
  for (int64_t d = 0; d < self.dim(); ++d)
    if (self.strides()[d] == 0 && self.sizes()[d] > 1)
      fail("{}: cannot write into {}: its elements share memory along dim {} (an expanded view)",
           name, format_shape(self.sizes()), d);
}

// Copies values (self's shape) into self's memory, converting the dtype; through fresh
// memory first when values may overlap self.
void write_values(const Tensor &self, const Tensor &values) {
  if (self.numel() == 0) return;
  Tensor source = values;
  if (values.dtype() != self.dtype() || values.shares_storage(self)) {
    source = empty(self.sizes(), self.dtype());
    runtime::convert_kernel(runtime::view_of(values.impl()), runtime::view_of(source.impl()));
  }
  runtime::copy_into(runtime::view_of(source.impl()), runtime::view_of(self.impl()));
}

// self = compute(self), in place. `compute` sees a tensor with self's values and history.
const Tensor &in_place(const Tensor &self, const char *name,
                       const std::function<Tensor(const Tensor &)> &compute) {
  check_writable(self, name);
  const bool recording = grad_enabled();
  if (recording && self.requires_grad() && self.is_leaf())
    fail(
        "{}: a leaf tensor that requires grad cannot be changed in place while gradients are "
        "recorded\n  hint: make the update under kiln::NoGradGuard, as an optimizer does",
        name);
  if (recording) {
    // So is a view with recorded history: the write would change its base's values behind
    // the base's gradient (PyTorch rebases the base's history; kiln asks for a clone).
    const detail::AutogradMeta *m = self.impl().autograd.get();
    const autograd::Node *made_by = m != nullptr ? m->grad_fn.get() : nullptr;
    if (made_by != nullptr && op_info(made_by->op).category == OpCategory::Movement &&
        made_by->output.data.shares_storage(self))
      fail(
          "{}: the tensor is a view (made by {}) of a tensor whose gradient is recorded, and a "
          "write through it would not reach that tensor's gradient\n  hint: clone() the view "
          "first, or make the write under kiln::NoGradGuard",
          name, op_name(made_by->op));
  }
  Tensor result = compute(self);
  if (result.sizes() != self.sizes())
    fail("{}: the result has shape {}, which does not fit the tensor's shape {}", name,
         format_shape(result.sizes()), format_shape(self.sizes()));
  if (promote_types(self.dtype(), result.dtype()) != self.dtype())
    fail("{}: the result is {}, which cannot be written into a {} tensor", name,
         dtype_name(result.dtype()), dtype_name(self.dtype()));
  detail::AutogradMeta *result_meta = result.impl().autograd.get();
  if (tracer::Trace *trace = tracer::active()) {
    // A captured tensor written while tracing: the graph computes its new value, and each
    // compiled call writes that back into the tensor's memory (tracer::Trace::write).
    if (recording && result_meta != nullptr && result_meta->grad_fn)
      tracer::graph_break(name,
                          "an in-place write that gradients flow through is not traced; make "
                          "the update under kiln::NoGradGuard");
    const Tensor value = result.dtype() == self.dtype() ? result : result.to(self.dtype());
    const ir::ValueId v = value.impl().trace == trace
                              ? value.impl().value
                              : trace->capture(value.impl_ptr(), value.impl());
    trace->write(name, self.impl_ptr(), self.impl(), v);
    // As an eager write would: a gradient saved from the old values now fails its check.
    self.impl().storage.bump_version(name);
    return self;
  }
  if (recording && result_meta != nullptr && result_meta->grad_fn) {
    // The new node may have saved self itself; it keeps a copy, since self is overwritten.
    for (autograd::SavedTensor &s : result_meta->grad_fn->inputs)
      if (s.values && s.data.shares_storage(self)) s = {clone(s.data), 0, true};
  }
  write_values(self, result);
  self.impl().storage.bump_version(name);
  if (recording) {
    const bool keeps_history = result_meta != nullptr && result_meta->grad_fn != nullptr;
    if (keeps_history || self.impl().autograd) {
      if (!self.impl().autograd) self.impl().autograd = std::make_shared<detail::AutogradMeta>();
      self.impl().autograd->grad_fn = keeps_history ? result_meta->grad_fn : nullptr;
      if (keeps_history && autograd::saved_parts(result_meta->grad_fn->op).output)
        result_meta->grad_fn->output = {autograd::without_history(self),
                                        self.impl().storage.version()};
    }
  }
  return self;
}

Tensor scaled(const Tensor &other, Scalar alpha) {
  return alpha.kind() != Scalar::Kind::Bool && alpha.to_double() == 1.0 ? other : other * alpha;
}

}  // namespace

const Tensor &Tensor::copy_(const Tensor &src) const {
  if (!src.defined()) fail("copy_: the source is an undefined tensor");
  if (src.impl().trace != nullptr && tracer::active() != src.impl().trace)
    fail("copy_: the source is a tracing proxy of a compiled function, used outside its trace");
  return in_place(*this, "copy_", [&](const Tensor &self) {
    return broadcast_to(src.to(self.dtype()), self.sizes());
  });
}

const Tensor &Tensor::add_(const Tensor &other, Scalar alpha) const {
  return in_place(*this, "add_", [&](const Tensor &s) { return s + scaled(other, alpha); });
}
const Tensor &Tensor::add_(Scalar other) const {
  return in_place(*this, "add_", [&](const Tensor &s) { return s + other; });
}
const Tensor &Tensor::sub_(const Tensor &other, Scalar alpha) const {
  return in_place(*this, "sub_", [&](const Tensor &s) { return s - scaled(other, alpha); });
}
const Tensor &Tensor::sub_(Scalar other) const {
  return in_place(*this, "sub_", [&](const Tensor &s) { return s - other; });
}
const Tensor &Tensor::mul_(const Tensor &other) const {
  return in_place(*this, "mul_", [&](const Tensor &s) { return s * other; });
}
const Tensor &Tensor::mul_(Scalar other) const {
  return in_place(*this, "mul_", [&](const Tensor &s) { return s * other; });
}
const Tensor &Tensor::div_(const Tensor &other) const {
  return in_place(*this, "div_", [&](const Tensor &s) { return s / other; });
}
const Tensor &Tensor::div_(Scalar other) const {
  return in_place(*this, "div_", [&](const Tensor &s) { return s / other; });
}
const Tensor &Tensor::clamp_(std::optional<Scalar> min, std::optional<Scalar> max) const {
  return in_place(*this, "clamp_", [&](const Tensor &s) { return clamp(s, min, max); });
}
const Tensor &Tensor::fill_(Scalar value) const {
  return in_place(*this, "fill_",
                  [&](const Tensor &s) { return full(s.sizes(), value, s.dtype()); });
}
const Tensor &Tensor::zero_() const {
  return in_place(*this, "zero_", [&](const Tensor &s) { return zeros(s.sizes(), s.dtype()); });
}

}  // namespace kiln
