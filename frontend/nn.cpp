// nn functions: argument checks in the user's terms, then one composite op each.
#include <limits>

#include "dispatch.h"
#include "generator.h"
#include "ir/diag.h"
#include "kiln/ops.h"
#include "promote.h"

namespace kiln {
namespace {

const Tensor &floating(const Tensor &x, std::string_view op) {
  if (!x.defined()) fail("{}: argument 0 is an undefined tensor", op);
  if (!is_floating(x.dtype()))
    fail("{}: input must be a floating-point tensor (f32 or f64), got {}", op,
         dtype_name(x.dtype()));
  return x;
}

int64_t trailing_axes(std::string_view op, const Tensor &x, const Shape &normalized_shape) {
  const int64_t axes = static_cast<int64_t>(normalized_shape.size());
  const bool matches =
      axes >= 1 && axes <= x.dim() &&
      std::equal(normalized_shape.begin(), normalized_shape.end(), x.sizes().end() - axes);
  if (!matches)
    fail("{}: normalized_shape {} must match the trailing dims of the input {}", op,
         format_shape(normalized_shape), format_shape(x.sizes()));
  return axes;
}

}  // namespace

Tensor softmax(const Tensor &x, int64_t dim) {
  return dispatch(OpKind::Softmax, {floating(x, "softmax")}, Attrs{{"dim", dim}});
}

Tensor log_softmax(const Tensor &x, int64_t dim) {
  return dispatch(OpKind::LogSoftmax, {floating(x, "log_softmax")}, Attrs{{"dim", dim}});
}

Tensor layer_norm(const Tensor &x, const Shape &normalized_shape, const Tensor &weight,
                  const Tensor &bias, double eps) {
  const int64_t axes = trailing_axes("layer_norm", floating(x, "layer_norm"), normalized_shape);
  if (bias.defined() && !weight.defined())
    fail("layer_norm: a bias needs a weight; pass ones for the weight");
  Attrs attrs{{"axes", axes}, {"eps", eps}};
  if (!weight.defined()) return dispatch(OpKind::LayerNorm, {x}, attrs);
  if (!bias.defined()) return dispatch(OpKind::LayerNorm, {x, weight}, attrs);
  return dispatch(OpKind::LayerNorm, {x, weight, bias}, attrs);
}

Tensor rms_norm(const Tensor &x, const Shape &normalized_shape, const Tensor &weight,
                std::optional<double> eps) {
  const int64_t axes = trailing_axes("rms_norm", floating(x, "rms_norm"), normalized_shape);
  const double machine_eps = x.dtype() == DType::F32 ? std::numeric_limits<float>::epsilon()
                                                     : std::numeric_limits<double>::epsilon();
  Attrs attrs{{"axes", axes}, {"eps", eps.value_or(machine_eps)}};
  if (!weight.defined()) return dispatch(OpKind::RmsNorm, {x}, attrs);
  return dispatch(OpKind::RmsNorm, {x, weight}, attrs);
}

Tensor dropout(const Tensor &x, double p, bool train) {
  floating(x, "dropout");
  if (!(p >= 0.0 && p <= 1.0)) fail("dropout: p must be in [0, 1], got {}", p);
  if (!train || p == 0.0) return x;
  Attrs attrs = draw_random(x.numel());
  attrs.set("p", p);
  return dispatch(OpKind::Dropout, {x}, attrs);
}

Tensor mse_loss(const Tensor &input, const Tensor &target, const std::string &reduction) {
  floating(input, "mse_loss");
  if (!target.defined()) fail("mse_loss: argument 1 is an undefined tensor");
  if (input.sizes() != target.sizes())
    fail("mse_loss: input shape {} differs from target shape {}", format_shape(input.sizes()),
         format_shape(target.sizes()));
  Tensor t = target.dtype() == input.dtype() ? target : target.to(input.dtype());
  return dispatch(OpKind::MseLoss, {input, t}, Attrs{{"reduction", reduction}});
}

Tensor cross_entropy(const Tensor &logits, const Tensor &target, const std::string &reduction,
                     int64_t ignore_index, double label_smoothing) {
  floating(logits, "cross_entropy");
  if (!target.defined()) fail("cross_entropy: argument 1 is an undefined tensor");
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    fail("cross_entropy: label_smoothing must be in [0, 1], got {}", label_smoothing);
  if (reduction != "mean" && reduction != "sum" && reduction != "none")
    fail("cross_entropy: reduction must be 'mean', 'sum' or 'none', got '{}'", reduction);
  auto op = [&](const Tensor &l, const Tensor &t, const std::string &mode) {
    Attrs attrs{{"reduction", mode}};
    if (ignore_index != -100) attrs.set("ignore_index", ignore_index);
    return dispatch(OpKind::CrossEntropy, {l, t}, attrs);
  };
  if (logits.dim() <= 2 && label_smoothing == 0.0) return op(logits, target, reduction);

  // The primitive takes [N, C]: class dims beyond the second become rows, and smoothing and
  // the reduction are written with primitives around its per-row losses.
  Tensor rows = logits, targets = target;
  if (logits.dim() > 2) {
    Shape want = logits.sizes();
    want.erase(want.begin() + 1);
    if (target.sizes() != want)
      fail("cross_entropy: target must have shape {} for logits {}, got {}", format_shape(want),
           format_shape(logits.sizes()), format_shape(target.sizes()));
    std::vector<int64_t> order = {0};
    for (int64_t d = 2; d < logits.dim(); ++d) order.push_back(d);
    order.push_back(1);
    rows = logits.permute(order).reshape({target.numel(), logits.size(1)});
    targets = target.reshape({target.numel()});
  }
  Tensor loss = op(rows, targets, "none");
  if (label_smoothing > 0.0) {
    const int64_t classes = rows.sizes().back();
    Tensor uniform =
        neg(sum(log_softmax(rows, -1), -1)) * (label_smoothing / static_cast<double>(classes));
    Tensor counted = targets != ignore_index;
    loss = loss * (1.0 - label_smoothing) + where(counted, uniform, 0.0);
  }
  if (reduction == "none") return loss.reshape(target.sizes());
  if (reduction == "sum") return sum(loss);
  return sum(loss) / sum((targets != ignore_index).to(loss.dtype()));
}

Tensor embedding(const Tensor &indices, const Tensor &weight) {
  return dispatch(OpKind::Embedding, {weight, indices});
}

Tensor one_hot(const Tensor &x, int64_t num_classes) {
  if (!x.defined()) fail("one_hot: argument 0 is an undefined tensor");
  if (num_classes == -1) {
    if (!is_integral(x.dtype()))
      fail("one_hot: input must be an integer tensor (i32 or i64), got {}", dtype_name(x.dtype()));
    if (x.numel() == 0) fail("one_hot: cannot infer the number of classes of an empty tensor");
    num_classes = max(x).item<int64_t>() + 1;
  }
  return dispatch(OpKind::OneHot, {x}, Attrs{{"classes", num_classes}});
}

}  // namespace kiln
