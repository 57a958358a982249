// matmul with torch.matmul's operand conventions, and linear on top of it. The matmul
// primitive only sees operands of equal rank >= 2 with equal batch dims.
#include "dispatch.h"
#include "ir/diag.h"
#include "kiln/ops.h"

namespace kiln {

Tensor matmul(const Tensor &a, const Tensor &b) {
  if (!a.defined() || !b.defined())
    fail("matmul: argument {} is an undefined tensor", a.defined() ? 1 : 0);
  if (a.dim() == 0 || b.dim() == 0)
    fail("matmul: both arguments must have at least 1 dim, got shapes {} and {}",
         format_shape(a.sizes()), format_shape(b.sizes()));
  const int64_t ka = a.sizes().back(), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  if (ka != kb)
    fail("matmul: shapes {} and {} cannot be multiplied ({} != {})", format_shape(a.sizes()),
         format_shape(b.sizes()), ka, kb);
  if (a.dtype() == DType::Bool || b.dtype() == DType::Bool)
    fail("matmul: bool tensors cannot be multiplied, got {} and {}", dtype_name(a.dtype()),
         dtype_name(b.dtype()));
  const DType d = promote_types(a.dtype(), b.dtype());
  Tensor x = a.dim() == 1 ? a.unsqueeze(0) : a.to(d);
  Tensor y = b.dim() == 1 ? b.unsqueeze(1) : b.to(d);
  x = x.to(d);
  y = y.to(d);
  const Shape batch_x(x.sizes().begin(), x.sizes().end() - 2);
  const Shape batch_y(y.sizes().begin(), y.sizes().end() - 2);
  // Batch dims broadcast like NumPy; the message names the user's operand shapes.
  const size_t rank = std::max(batch_x.size(), batch_y.size());
  Shape batch(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t dx = i < rank - batch_x.size() ? 1 : batch_x[i - (rank - batch_x.size())];
    const int64_t dy = i < rank - batch_y.size() ? 1 : batch_y[i - (rank - batch_y.size())];
    if (dx != dy && dx != 1 && dy != 1)
      fail("matmul: batch dims of {} and {} cannot be broadcast together (batch dim {}: {} vs {})",
           format_shape(a.sizes()), format_shape(b.sizes()), i, dx, dy);
    batch[i] = dx == 1 ? dy : dx;
  }
  auto with_batch = [&](const Tensor &t) {
    Shape s = batch;
    s.push_back(t.size(-2));
    s.push_back(t.size(-1));
    return broadcast_to(t, s);
  };
  Tensor out = dispatch(OpKind::Matmul, {with_batch(x), with_batch(y)});
  if (a.dim() == 1) out = out.squeeze(-2);
  if (b.dim() == 1) out = out.squeeze(-1);
  return out;
}

Tensor linear(const Tensor &x, const Tensor &weight, const Tensor &bias) {
  if (!x.defined() || !weight.defined())
    fail("linear: argument {} is an undefined tensor", x.defined() ? 1 : 0);
  if (weight.dim() != 2)
    fail("linear: weight must be 2-D [out_features, in_features], got {}",
         format_shape(weight.sizes()));
  if (x.dim() == 0 || x.sizes().back() != weight.size(1))
    fail("linear: input {} does not match weight {}: expected last dim {}, got {}",
         format_shape(x.sizes()), format_shape(weight.sizes()), weight.size(1),
         x.dim() == 0 ? 0 : x.sizes().back());
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != weight.size(0)))
    fail("linear: bias must have shape [{}], got {}", weight.size(0), format_shape(bias.sizes()));
  // One 2-D product over all leading dims instead of a batch of small ones.
  Shape out_shape = x.sizes();
  out_shape.back() = weight.size(0);
  // Rows counted from the leading dims, not inferred (-1): with no in-features every row
  // has zero elements and the count would be ambiguous.
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < x.dim(); ++d) rows *= x.size(d);
  Tensor flat = x.dim() == 2 ? x : x.reshape({rows, weight.size(1)});
  Tensor y = matmul(flat, weight.transpose(0, 1));
  if (bias.defined()) y = y + bias;
  return x.dim() == 2 ? y : y.reshape(out_shape);
}

}  // namespace kiln
