// Tensor accessors, read-back and printing; view methods forward to the free functions.
#include "kiln/tensor.h"

#include <fmt/format.h>

#include <ostream>

#include "dispatch.h"
#include "ir/diag.h"
#include "kiln/kiln.h"
#include "runtime/allocator.h"
#include "runtime/execute.h"
#include "runtime/reference/elementwise.h"
#include "runtime/thread_pool.h"
#include "tracer/trace.h"

namespace kiln {

detail::TensorImpl &Tensor::impl() const {
  if (!impl_) fail("tensor is undefined: it was default-constructed and never assigned");
  return *impl_;
}

int64_t Tensor::size(int64_t dim) const { return sizes()[normalize_dim("size", dim, this->dim())]; }

bool Tensor::shares_storage(const Tensor &other) const {
  return defined() && other.defined() && impl().storage.same_as(other.impl().storage);
}

void Tensor::read_as(DType dtype, void *dst, std::string_view what) const {
  const detail::TensorImpl &i = impl();
  if (i.trace != nullptr && tracer::active() != i.trace)
    fail("{}: the tensor is a tracing proxy of a compiled function, used outside its trace", what);
  // A concrete tensor too: a value read while tracing would be a constant of the graph, and
  // the tensor may change between calls (an optimizer's learning rate, a write in the trace).
  if (tracer::active() != nullptr)
    tracer::graph_break(std::string(what), "it needs the tensor's values while tracing");
  runtime::View out{static_cast<std::byte *>(dst), dtype, sizes(), contiguous_strides(sizes())};
  if (numel() > 0) runtime::convert_kernel(runtime::view_of(i), out);
}

template <class T>
T Tensor::item() const {
  if (numel() != 1)
    fail("item: expected a tensor with one element, got shape {} ({} elements)",
         format_shape(sizes()), numel());
  T value;
  if constexpr (std::is_same_v<T, bool>) {
    uint8_t raw;
    read_as(DType::Bool, &raw, "item");
    value = raw != 0;
  } else {
    read_as(dtype_of<T>(), &value, "item");
  }
  return value;
}
template bool Tensor::item<bool>() const;
template int32_t Tensor::item<int32_t>() const;
template int64_t Tensor::item<int64_t>() const;
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;

Tensor Tensor::to(DType dtype) const { return kiln::to(*this, dtype); }
Tensor Tensor::contiguous() const { return kiln::contiguous(*this); }
Tensor Tensor::reshape(const Shape &shape) const { return kiln::reshape(*this, shape); }
Tensor Tensor::view(const Shape &shape) const { return kiln::view(*this, shape); }
Tensor Tensor::flatten(int64_t start, int64_t end) const {
  return kiln::flatten(*this, start, end);
}
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return kiln::transpose(*this, d0, d1); }
Tensor Tensor::permute(const std::vector<int64_t> &dims) const {
  return kiln::permute(*this, dims);
}
Tensor Tensor::expand(const Shape &shape) const { return kiln::expand(*this, shape); }
Tensor Tensor::squeeze(std::optional<int64_t> dim) const { return kiln::squeeze(*this, dim); }
Tensor Tensor::unsqueeze(int64_t dim) const { return kiln::unsqueeze(*this, dim); }
Tensor Tensor::slice(int64_t dim, std::optional<int64_t> start, std::optional<int64_t> stop,
                     int64_t step) const {
  return kiln::slice(*this, dim, start, stop, step);
}
Tensor Tensor::select(int64_t dim, int64_t index) const { return kiln::select(*this, dim, index); }
Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  return kiln::narrow(*this, dim, start, length);
}

namespace {

constexpr int64_t kEdgeItems = 3;  // printed at each end of a long dim

std::string format_element(const std::vector<double> &values, const std::vector<int64_t> &ints,
                           DType dtype, int64_t i) {
  if (dtype == DType::Bool) return ints[i] ? "true" : "false";
  if (is_integral(dtype)) return fmt::format("{}", ints[i]);
  return fmt::format("{:.6g}", values[i]);
}

void format_dim(std::string &out, const Shape &sizes, size_t dim, int64_t base,
                const std::vector<double> &values, const std::vector<int64_t> &ints, DType dtype) {
  const int64_t n = sizes[dim];
  const int64_t stride = numel(std::span(sizes).subspan(dim + 1));
  out += '[';
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * kEdgeItems && i == kEdgeItems) {
      out += "..., ";
      i = n - kEdgeItems;
    }
    if (dim + 1 == sizes.size())
      out += format_element(values, ints, dtype, base + i);
    else
      format_dim(out, sizes, dim + 1, base + i * stride, values, ints, dtype);
    if (i + 1 < n) out += ", ";
  }
  out += ']';
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  std::string out = fmt::format("{}{} ", dtype_name(dtype()), format_shape(sizes()));
  std::vector<double> values;
  std::vector<int64_t> ints;
  if (is_floating(dtype())) {
    values.resize(static_cast<size_t>(numel()));
    read_as(DType::F64, values.data(), "printing a tensor");
  } else {
    ints.resize(static_cast<size_t>(numel()));
    read_as(DType::I64, ints.data(), "printing a tensor");
  }
  if (dim() == 0) return out + format_element(values, ints, dtype(), 0);
  format_dim(out, sizes(), 0, 0, values, ints, dtype());
  return out;
}

std::ostream &operator<<(std::ostream &os, const Tensor &t) { return os << t.str(); }

int num_threads() { return runtime::num_threads(); }
void set_num_threads(int n) { runtime::set_num_threads(n); }

MemoryStats memory_stats() {
  const runtime::AllocatorStats s = runtime::allocator_stats();
  return {.live_bytes = s.live_bytes,
          .peak_live_bytes = s.peak_live_bytes,
          .cached_bytes = s.cached_bytes,
          .cache_limit_bytes = runtime::cache_limit()};
}
void empty_cache() { runtime::empty_cache(); }
void set_cache_limit(int64_t bytes) { runtime::set_cache_limit(bytes); }

}  // namespace kiln
