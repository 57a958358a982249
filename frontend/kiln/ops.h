// The eager op API: free functions over kiln::Tensor, named and behaving like PyTorch's.
// Broadcasting and type promotion follow PyTorch (see README, "Differences from PyTorch").
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "kiln/scalar.h"
#include "kiln/tensor.h"

namespace kiln {

// A set of dims: sum(x, 1), sum(x, {0, 2}); empty means all dims.
struct Dims {
  std::vector<int64_t> values;
  Dims() = default;
  Dims(int64_t dim) : values{dim} {}
  Dims(int dim) : values{dim} {}
  Dims(std::initializer_list<int64_t> dims) : values(dims) {}
  Dims(std::vector<int64_t> dims) : values(std::move(dims)) {}
};

// --- creation --------------------------------------------------------------------------
void manual_seed(uint64_t seed);  // seeds rand, randn, randint and dropout
[[nodiscard]] Tensor zeros(const Shape &shape, DType dtype = DType::F32);
[[nodiscard]] Tensor ones(const Shape &shape, DType dtype = DType::F32);
[[nodiscard]] Tensor full(const Shape &shape, Scalar value, std::optional<DType> dtype = {});
[[nodiscard]] Tensor zeros_like(const Tensor &x);
[[nodiscard]] Tensor ones_like(const Tensor &x);
[[nodiscard]] Tensor scalar_tensor(Scalar value, std::optional<DType> dtype = {});
[[nodiscard]] Tensor arange(Scalar end, std::optional<DType> dtype = {});
[[nodiscard]] Tensor arange(Scalar start, Scalar end, Scalar step = 1,
                            std::optional<DType> dtype = {});
[[nodiscard]] Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::F32);
[[nodiscard]] Tensor eye(int64_t n, std::optional<int64_t> m = {}, DType dtype = DType::F32);
[[nodiscard]] Tensor rand(const Shape &shape, DType dtype = DType::F32);
[[nodiscard]] Tensor randn(const Shape &shape, DType dtype = DType::F32);
[[nodiscard]] Tensor randint(int64_t low, int64_t high, const Shape &shape,
                             DType dtype = DType::I64);
// Copies `data` (row-major) into a new tensor of `shape` (default: 1-D of data's length).
template <class T>
[[nodiscard]] Tensor from_vector(const std::vector<T> &data, std::optional<Shape> shape = {});
template <class T>
[[nodiscard]] Tensor from_data(const T *data, const Shape &shape);

// --- pointwise -------------------------------------------------------------------------
[[nodiscard]] Tensor neg(const Tensor &x);
[[nodiscard]] Tensor abs(const Tensor &x);
[[nodiscard]] Tensor exp(const Tensor &x);
[[nodiscard]] Tensor log(const Tensor &x);
[[nodiscard]] Tensor log1p(const Tensor &x);
[[nodiscard]] Tensor expm1(const Tensor &x);
[[nodiscard]] Tensor sqrt(const Tensor &x);
[[nodiscard]] Tensor rsqrt(const Tensor &x);
[[nodiscard]] Tensor sin(const Tensor &x);
[[nodiscard]] Tensor cos(const Tensor &x);
[[nodiscard]] Tensor tanh(const Tensor &x);
[[nodiscard]] Tensor sigmoid(const Tensor &x);
[[nodiscard]] Tensor relu(const Tensor &x);
// approximate: "none" (exact, erf) or "tanh".
[[nodiscard]] Tensor gelu(const Tensor &x, const std::string &approximate = "none");
[[nodiscard]] Tensor silu(const Tensor &x);
[[nodiscard]] Tensor erf(const Tensor &x);
[[nodiscard]] Tensor reciprocal(const Tensor &x);
[[nodiscard]] Tensor floor(const Tensor &x);
[[nodiscard]] Tensor ceil(const Tensor &x);
[[nodiscard]] Tensor round(const Tensor &x);
[[nodiscard]] Tensor sign(const Tensor &x);
[[nodiscard]] Tensor logical_not(const Tensor &x);
[[nodiscard]] Tensor clamp(const Tensor &x, std::optional<Scalar> min,
                           std::optional<Scalar> max = {});

[[nodiscard]] Tensor add(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor sub(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor mul(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor div(const Tensor &a, const Tensor &b);  // true division
[[nodiscard]] Tensor pow(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor maximum(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor minimum(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor fmod(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor eq(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor ne(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor lt(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor le(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor gt(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor ge(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor logical_and(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor logical_or(const Tensor &a, const Tensor &b);
[[nodiscard]] Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b);
// Tensor-scalar forms: the scalar is a 0-dim tensor that does not widen the tensor's dtype.
[[nodiscard]] Tensor add(const Tensor &a, Scalar b);
[[nodiscard]] Tensor sub(const Tensor &a, Scalar b);
[[nodiscard]] Tensor mul(const Tensor &a, Scalar b);
[[nodiscard]] Tensor div(const Tensor &a, Scalar b);
[[nodiscard]] Tensor pow(const Tensor &a, Scalar b);
[[nodiscard]] Tensor maximum(const Tensor &a, Scalar b);
[[nodiscard]] Tensor minimum(const Tensor &a, Scalar b);
[[nodiscard]] Tensor fmod(const Tensor &a, Scalar b);
[[nodiscard]] Tensor where(const Tensor &cond, const Tensor &a, Scalar b);
[[nodiscard]] Tensor where(const Tensor &cond, Scalar a, const Tensor &b);

Tensor operator+(const Tensor &a, const Tensor &b);
Tensor operator-(const Tensor &a, const Tensor &b);
Tensor operator*(const Tensor &a, const Tensor &b);
Tensor operator/(const Tensor &a, const Tensor &b);
Tensor operator+(const Tensor &a, Scalar b);
Tensor operator-(const Tensor &a, Scalar b);
Tensor operator*(const Tensor &a, Scalar b);
Tensor operator/(const Tensor &a, Scalar b);
Tensor operator+(Scalar a, const Tensor &b);
Tensor operator-(Scalar a, const Tensor &b);
Tensor operator*(Scalar a, const Tensor &b);
Tensor operator/(Scalar a, const Tensor &b);
Tensor operator-(const Tensor &x);
Tensor operator==(const Tensor &a, const Tensor &b);
Tensor operator!=(const Tensor &a, const Tensor &b);
Tensor operator<(const Tensor &a, const Tensor &b);
Tensor operator<=(const Tensor &a, const Tensor &b);
Tensor operator>(const Tensor &a, const Tensor &b);
Tensor operator>=(const Tensor &a, const Tensor &b);
Tensor operator==(const Tensor &a, Scalar b);
Tensor operator!=(const Tensor &a, Scalar b);
Tensor operator<(const Tensor &a, Scalar b);
Tensor operator<=(const Tensor &a, Scalar b);
Tensor operator>(const Tensor &a, Scalar b);
Tensor operator>=(const Tensor &a, Scalar b);
Tensor operator&(const Tensor &a, const Tensor &b);  // logical_and
Tensor operator|(const Tensor &a, const Tensor &b);  // logical_or
Tensor operator!(const Tensor &x);                   // logical_not

// --- reductions (dims empty = all dims) ------------------------------------------------
[[nodiscard]] Tensor sum(const Tensor &x, Dims dims = {}, bool keepdim = false);
[[nodiscard]] Tensor mean(const Tensor &x, Dims dims = {}, bool keepdim = false);
[[nodiscard]] Tensor max(const Tensor &x, Dims dims = {}, bool keepdim = false);
[[nodiscard]] Tensor min(const Tensor &x, Dims dims = {}, bool keepdim = false);
[[nodiscard]] Tensor prod(const Tensor &x, Dims dims = {}, bool keepdim = false);
// Index of the first max/min along dim, or into the flattened tensor without a dim.
[[nodiscard]] Tensor argmax(const Tensor &x, std::optional<int64_t> dim = {}, bool keepdim = false);
[[nodiscard]] Tensor argmin(const Tensor &x, std::optional<int64_t> dim = {}, bool keepdim = false);
[[nodiscard]] Tensor var(const Tensor &x, Dims dims = {}, bool unbiased = true,
                         bool keepdim = false);
[[nodiscard]] Tensor std(const Tensor &x, Dims dims = {}, bool unbiased = true,
                         bool keepdim = false);
[[nodiscard]] Tensor all(const Tensor &x, Dims dims = {}, bool keepdim = false);
[[nodiscard]] Tensor any(const Tensor &x, Dims dims = {}, bool keepdim = false);
[[nodiscard]] Tensor logsumexp(const Tensor &x, Dims dims = {}, bool keepdim = false);

// --- linear algebra ----------------------------------------------------------------------
// torch.matmul: 1-D, 2-D and batched operands, batch dims broadcast.
[[nodiscard]] Tensor matmul(const Tensor &a, const Tensor &b);
// x @ weightᵀ + bias, weight stored [out_features, in_features].
[[nodiscard]] Tensor linear(const Tensor &x, const Tensor &weight, const Tensor &bias = {});

// --- shape and views ---------------------------------------------------------------------
[[nodiscard]] Tensor reshape(const Tensor &x, const Shape &shape);  // one -1 is inferred
[[nodiscard]] Tensor view(const Tensor &x, const Shape &shape);     // never copies
[[nodiscard]] Tensor flatten(const Tensor &x, int64_t start_dim = 0, int64_t end_dim = -1);
[[nodiscard]] Tensor transpose(const Tensor &x, int64_t dim0, int64_t dim1);
[[nodiscard]] Tensor permute(const Tensor &x, const std::vector<int64_t> &dims);
[[nodiscard]] Tensor expand(const Tensor &x, const Shape &shape);  // -1 keeps a size
[[nodiscard]] Tensor broadcast_to(const Tensor &x, const Shape &shape);
[[nodiscard]] Tensor squeeze(const Tensor &x, std::optional<int64_t> dim = {});
[[nodiscard]] Tensor unsqueeze(const Tensor &x, int64_t dim);
// Python slicing x[start:stop:step] along dim: negative and out-of-range bounds clamp.
[[nodiscard]] Tensor slice(const Tensor &x, int64_t dim, std::optional<int64_t> start,
                           std::optional<int64_t> stop, int64_t step = 1);
[[nodiscard]] Tensor select(const Tensor &x, int64_t dim, int64_t index);
[[nodiscard]] Tensor narrow(const Tensor &x, int64_t dim, int64_t start, int64_t length);
[[nodiscard]] Tensor cat(const std::vector<Tensor> &tensors, int64_t dim = 0);
[[nodiscard]] Tensor stack(const std::vector<Tensor> &tensors, int64_t dim = 0);
[[nodiscard]] std::vector<Tensor> split(const Tensor &x, int64_t split_size, int64_t dim = 0);
[[nodiscard]] std::vector<Tensor> chunk(const Tensor &x, int64_t chunks, int64_t dim = 0);
[[nodiscard]] Tensor contiguous(const Tensor &x);
[[nodiscard]] Tensor clone(const Tensor &x);  // a contiguous copy in its own memory
[[nodiscard]] Tensor to(const Tensor &x, DType dtype);

// --- nn functions ------------------------------------------------------------------------
[[nodiscard]] Tensor softmax(const Tensor &x, int64_t dim);
[[nodiscard]] Tensor log_softmax(const Tensor &x, int64_t dim);
[[nodiscard]] Tensor layer_norm(const Tensor &x, const Shape &normalized_shape,
                                const Tensor &weight = {}, const Tensor &bias = {},
                                double eps = 1e-5);
// eps defaults to the dtype's machine epsilon, as in PyTorch.
[[nodiscard]] Tensor rms_norm(const Tensor &x, const Shape &normalized_shape,
                              const Tensor &weight = {}, std::optional<double> eps = {});
// Zeroes each element with probability p and scales the rest by 1/(1-p); identity unless train.
[[nodiscard]] Tensor dropout(const Tensor &x, double p = 0.5, bool train = true);
// reduction: "mean", "sum" or "none".
[[nodiscard]] Tensor mse_loss(const Tensor &input, const Tensor &target,
                              const std::string &reduction = "mean");
// logits [N, C, d1, …] (or [C]) and class indices [N, d1, …] (or []), as in PyTorch; targets
// equal to ignore_index are skipped. label_smoothing in [0, 1] mixes the one-hot target
// with the uniform distribution over the C classes.
[[nodiscard]] Tensor cross_entropy(const Tensor &logits, const Tensor &target,
                                   const std::string &reduction = "mean",
                                   int64_t ignore_index = -100, double label_smoothing = 0.0);
// Rows of weight [num, dim] picked by integer indices of any shape: result indices.shape + [dim].
[[nodiscard]] Tensor embedding(const Tensor &indices, const Tensor &weight);
// num_classes = -1 uses max(x) + 1.
[[nodiscard]] Tensor one_hot(const Tensor &x, int64_t num_classes = -1);

}  // namespace kiln
