// kiln::Tensor: a dtype, a device, and a strided view (sizes, strides, offset) of shared
// storage. Copying a Tensor is cheap and shares memory; views share storage too.
#pragma once

#include <cstdint>
#include <cstring>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/device.h"
#include "ir/dtype.h"
#include "ir/shape.h"
#include "kiln/scalar.h"
#include "runtime/array.h"

namespace kiln {

namespace tracer {
class Trace;
}

namespace detail {
struct AutogradMeta;  // frontend/autograd.h

// A tensor's data (runtime::Array: storage, dtype, layout) plus, for a proxy recorded by
// compile()'s tracer, the trace and IR value it stands for. Proxies have no storage.
struct TensorImpl : runtime::Array {
  const tracer::Trace *trace = nullptr;
  int32_t value = -1;
  std::shared_ptr<AutogradMeta> autograd;  // null unless gradients involve this tensor
};
}  // namespace detail

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor; ops reject it by argument name
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

  [[nodiscard]] bool defined() const { return impl_ != nullptr; }
  [[nodiscard]] DType dtype() const { return impl().dtype; }
  [[nodiscard]] Device device() const { return impl().storage.device(); }
  [[nodiscard]] const Shape &sizes() const { return impl().layout.sizes; }
  [[nodiscard]] const Shape &strides() const { return impl().layout.strides; }
  [[nodiscard]] int64_t offset() const { return impl().layout.offset; }
  [[nodiscard]] int64_t size(int64_t dim) const;
  [[nodiscard]] int64_t dim() const { return static_cast<int64_t>(sizes().size()); }
  [[nodiscard]] int64_t numel() const { return kiln::numel(sizes()); }
  [[nodiscard]] bool is_contiguous() const { return impl().layout.is_contiguous(); }
  [[nodiscard]] bool shares_storage(const Tensor &other) const;

  // Read-back: the single element of a one-element tensor, or all elements in row-major
  // order, converted to T (one of bool, int32_t, int64_t, float, double).
  template <class T>
  [[nodiscard]] T item() const;
  template <class T>
  [[nodiscard]] std::vector<T> tolist() const;

  // In place: writes src, broadcast to this tensor's shape and converted to its dtype, into
  // this tensor's memory, so its views and compiled functions that captured it see the new
  // values (reassigning a captured variable instead makes them retrace). Not traced: inside
  // a compiled function it is a graph break.
  const Tensor &copy_(const Tensor &src) const;
  // More in-place ops, each `*this = op(*this, …)` written into this tensor's memory (same
  // rules as copy_). With recording on they join the graph like their out-of-place forms,
  // except on a leaf that requires grad (an error, as in PyTorch: use NoGradGuard).
  const Tensor &add_(const Tensor &other, Scalar alpha = 1) const;
  const Tensor &add_(Scalar other) const;
  const Tensor &sub_(const Tensor &other, Scalar alpha = 1) const;
  const Tensor &sub_(Scalar other) const;
  const Tensor &mul_(const Tensor &other) const;
  const Tensor &mul_(Scalar other) const;
  const Tensor &div_(const Tensor &other) const;
  const Tensor &div_(Scalar other) const;
  const Tensor &clamp_(std::optional<Scalar> min, std::optional<Scalar> max = {}) const;
  const Tensor &fill_(Scalar value) const;
  const Tensor &zero_() const;

  // Autograd (kiln/autograd.h). requires_grad_ marks a floating-point leaf whose gradient
  // backward() accumulates in grad(); ops on tensors requiring grad record how to
  // differentiate them.
  [[nodiscard]] bool requires_grad() const;
  const Tensor &requires_grad_(bool requires_grad = true) const;
  [[nodiscard]] bool is_leaf() const;       // made by the user, not by an op that records
  [[nodiscard]] Tensor grad() const;        // undefined until a backward reaches this tensor
  void set_grad(const Tensor &grad) const;  // an undefined tensor clears it
  const Tensor &retain_grad() const;        // a non-leaf keeps its gradient too
  // The op that made this tensor ("" for a leaf), as "mul" or "matmul".
  [[nodiscard]] std::string grad_fn_name() const;
  // Gradients of this tensor with respect to the leaves it came from, weighted by
  // `gradient` (which may be left out for a one-element tensor), added to their grad().
  // Frees the recorded graph unless retain_graph.
  void backward(const Tensor &gradient = {}, bool retain_graph = false) const;
  // The same data without history: no gradient flows through it.
  [[nodiscard]] Tensor detach() const;

  // Conversions and views; each is the free function of the same name.
  [[nodiscard]] Tensor to(DType dtype) const;
  [[nodiscard]] Tensor contiguous() const;
  [[nodiscard]] Tensor reshape(const Shape &shape) const;
  [[nodiscard]] Tensor view(const Shape &shape) const;
  [[nodiscard]] Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  [[nodiscard]] Tensor transpose(int64_t dim0, int64_t dim1) const;
  [[nodiscard]] Tensor permute(const std::vector<int64_t> &dims) const;
  [[nodiscard]] Tensor expand(const Shape &shape) const;
  [[nodiscard]] Tensor squeeze(std::optional<int64_t> dim = std::nullopt) const;
  [[nodiscard]] Tensor unsqueeze(int64_t dim) const;
  [[nodiscard]] Tensor slice(int64_t dim, std::optional<int64_t> start, std::optional<int64_t> stop,
                             int64_t step = 1) const;
  [[nodiscard]] Tensor select(int64_t dim, int64_t index) const;
  [[nodiscard]] Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  [[nodiscard]] Tensor operator[](int64_t index) const { return select(0, index); }

  // "f32[2,3] [[1, 2, 3], [4, 5, 6]]", eliding the middle of long dims.
  [[nodiscard]] std::string str() const;

  [[nodiscard]] detail::TensorImpl &impl() const;
  [[nodiscard]] const std::shared_ptr<detail::TensorImpl> &impl_ptr() const { return impl_; }

 private:
  // Copies numel() elements, row-major, converted to dtype. `what` names the reading call
  // (item, tolist, printing) for the graph break it causes inside a trace.
  void read_as(DType dtype, void *dst, std::string_view what) const;
  std::shared_ptr<detail::TensorImpl> impl_;
};

std::ostream &operator<<(std::ostream &os, const Tensor &t);

template <class T>
std::vector<T> Tensor::tolist() const {
  constexpr DType d = dtype_of<T>();
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> raw(static_cast<size_t>(numel()));
    read_as(d, raw.data(), "tolist");
    return std::vector<bool>(raw.begin(), raw.end());
  } else {
    std::vector<T> out(static_cast<size_t>(numel()));
    read_as(d, out.data(), "tolist");
    return out;
  }
}

}  // namespace kiln
