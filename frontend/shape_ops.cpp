// Shape and view ops, written on the five movement primitives (reshape, permute,
// broadcast, slice, cat) with PyTorch's argument conventions.
#include <algorithm>

#include "dispatch.h"
#include "ir/diag.h"
#include "kiln/ops.h"

namespace kiln {
namespace {

const Tensor &defined(const Tensor &x, std::string_view op) {
  if (!x.defined()) fail("{}: argument 0 is an undefined tensor", op);
  return x;
}

// Replaces one -1 in `shape` by what makes numel match; rejects other negatives.
Shape infer_size(std::string_view op, const Tensor &x, const Shape &shape) {
  Shape out = shape;
  int64_t known = 1, unknown = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (unknown >= 0) fail("{}: only one dim can be -1, got {}", op, format_shape(shape));
      unknown = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      fail("{}: size at dim {} must be non-negative or -1, got {}", op, i, out[i]);
    } else {
      known *= out[i];
    }
  }
  if (unknown >= 0) {
    if (known == 0 || x.numel() % known != 0)
      fail("{}: cannot reshape {} ({} elements) into {}", op, format_shape(x.sizes()), x.numel(),
           format_shape(shape));
    out[unknown] = x.numel() / known;
  }
  return out;
}

Tensor slice_raw(const Tensor &x, int64_t dim, int64_t start, int64_t stop, int64_t step) {
  Attrs attrs{{"dim", dim}};
  if (start != 0) attrs.set("start", start);
  if (stop != x.size(dim)) attrs.set("stop", stop);
  if (step != 1) attrs.set("step", step);
  return dispatch(OpKind::Slice, {x}, attrs);
}

// Checks that x can be broadcast to shape, reporting under the user's function name.
void check_broadcastable(std::string_view op, const Tensor &x, const Shape &shape) {
  std::string_view verb = op == "expand" ? "expand" : "broadcast";
  if (x.sizes().size() > shape.size())
    fail("{}: cannot {} {} to {} with fewer dims", op, verb, format_shape(x.sizes()),
         format_shape(shape));
  const size_t lead = shape.size() - x.sizes().size();
  for (size_t i = 0; i < x.sizes().size(); ++i)
    if (x.sizes()[i] != 1 && x.sizes()[i] != shape[lead + i])
      fail("{}: cannot {} {} to {}: dim {} has size {}, expected 1 or {}", op, verb,
           format_shape(x.sizes()), format_shape(shape), i, x.sizes()[i], shape[lead + i]);
}

}  // namespace

Tensor reshape(const Tensor &x, const Shape &shape) {
  defined(x, "reshape");
  Shape s = infer_size("reshape", x, shape);
  if (s == x.sizes()) return x;
  return dispatch(OpKind::Reshape, {x}, Attrs{{"shape", s}});
}

Tensor view(const Tensor &x, const Shape &shape) {
  defined(x, "view");
  Shape s = infer_size("view", x, shape);
  if (numel(s) != x.numel())
    fail("view: cannot view {} ({} elements) as {} ({} elements)", format_shape(x.sizes()),
         x.numel(), format_shape(s), numel(s));
  if (!ir::reshape_layout(x.impl().layout, s))
    fail(
        "view: shape {} with strides {} cannot be viewed as {} without copying\n  hint: use "
        "reshape, which copies when it must",
        format_shape(x.sizes()), format_shape(x.strides()), format_shape(s));
  return reshape(x, s);
}

Tensor flatten(const Tensor &x, int64_t start_dim, int64_t end_dim) {
  defined(x, "flatten");
  if (x.dim() == 0) return x.reshape({1});
  int64_t s = normalize_dim("flatten", start_dim, x.dim()),
          e = normalize_dim("flatten", end_dim, x.dim());
  if (s > e) fail("flatten: start_dim {} comes after end_dim {}", start_dim, end_dim);
  Shape shape(x.sizes().begin(), x.sizes().begin() + s);
  shape.push_back(numel(std::span(x.sizes()).subspan(s, e - s + 1)));
  shape.insert(shape.end(), x.sizes().begin() + e + 1, x.sizes().end());
  return reshape(x, shape);
}

Tensor permute(const Tensor &x, const std::vector<int64_t> &dims) {
  defined(x, "permute");
  if (static_cast<int64_t>(dims.size()) != x.dim())
    fail("permute: expected {} dims for a tensor of shape {}, got {}", x.dim(),
         format_shape(x.sizes()), format_shape(dims));
  std::vector<int64_t> perm;
  for (int64_t d : dims) perm.push_back(normalize_dim("permute", d, x.dim()));
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity = identity && perm[i] == static_cast<int64_t>(i);
  if (identity && std::is_sorted(perm.begin(), perm.end())) return x;
  return dispatch(OpKind::Permute, {x}, Attrs{{"perm", perm}});
}

Tensor transpose(const Tensor &x, int64_t dim0, int64_t dim1) {
  defined(x, "transpose");
  if (x.dim() == 0) {
    (void)normalize_dim("transpose", dim0, 0);
    (void)normalize_dim("transpose", dim1, 0);
    return x;
  }
  std::vector<int64_t> perm(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) perm[i] = i;
  std::swap(perm[normalize_dim("transpose", dim0, x.dim())],
            perm[normalize_dim("transpose", dim1, x.dim())]);
  return permute(x, perm);
}

Tensor broadcast_to(const Tensor &x, const Shape &shape) {
  defined(x, "broadcast_to");
  if (x.sizes() == shape) return x;
  check_broadcastable("broadcast_to", x, shape);
  return dispatch(OpKind::Broadcast, {x}, Attrs{{"shape", shape}});
}

Tensor expand(const Tensor &x, const Shape &shape) {
  defined(x, "expand");
  if (shape.size() < x.sizes().size())
    fail("expand: target shape {} has fewer dims than the tensor's {}", format_shape(shape),
         format_shape(x.sizes()));
  Shape s = shape;
  const size_t lead = shape.size() - x.sizes().size();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != -1) continue;
    if (i < lead) fail("expand: -1 is not allowed for the new leading dim {}", i);
    s[i] = x.sizes()[i - lead];
  }
  check_broadcastable("expand", x, s);
  return broadcast_to(x, s);
}

Tensor squeeze(const Tensor &x, std::optional<int64_t> dim) {
  defined(x, "squeeze");
  Shape shape;
  std::optional<int64_t> only =
      dim ? std::optional(normalize_dim("squeeze", *dim, x.dim())) : std::nullopt;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (x.sizes()[d] != 1 || (only && *only != d)) shape.push_back(x.sizes()[d]);
  return reshape(x, shape);
}

Tensor unsqueeze(const Tensor &x, int64_t dim) {
  defined(x, "unsqueeze");
  int64_t d = normalize_dim("unsqueeze", dim, x.dim() + 1);
  Shape shape = x.sizes();
  shape.insert(shape.begin() + d, 1);
  return reshape(x, shape);
}

Tensor slice(const Tensor &x, int64_t dim, std::optional<int64_t> start,
             std::optional<int64_t> stop, int64_t step) {
  defined(x, "slice");
  if (x.dim() == 0) fail("slice: cannot slice a 0-dim tensor");
  const int64_t d = normalize_dim("slice", dim, x.dim());
  if (step <= 0) fail("slice: step must be positive, got {}", step);
  const int64_t n = x.size(d);
  auto clamp_index = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  int64_t s = start ? clamp_index(*start) : 0, e = stop ? clamp_index(*stop) : n;
  e = std::max(e, s);
  return slice_raw(x, d, s, e, step);
}

Tensor narrow(const Tensor &x, int64_t dim, int64_t start, int64_t length) {
  defined(x, "narrow");
  if (x.dim() == 0) fail("narrow: cannot narrow a 0-dim tensor");
  const int64_t d = normalize_dim("narrow", dim, x.dim());
  const int64_t n = x.size(d);
  const int64_t s = start < 0 ? start + n : start;
  if (s < 0 || s > n || length < 0 || length > n - s)  // no overflow for huge lengths
    fail("narrow: start {} and length {} are out of range for dim {} of size {}", start, length, d,
         n);
  return slice_raw(x, d, s, s + length, 1);
}

Tensor select(const Tensor &x, int64_t dim, int64_t index) {
  defined(x, "select");
  if (x.dim() == 0) fail("select: cannot index a 0-dim tensor");
  const int64_t d = normalize_dim("select", dim, x.dim());
  const int64_t n = x.size(d);
  if (index < -n || index >= n)
    fail("select: index {} is out of range for dim {} of size {}", index, d, n);
  const int64_t i = index < 0 ? index + n : index;
  return squeeze(slice_raw(x, d, i, i + 1, 1), d);
}

Tensor cat(const std::vector<Tensor> &tensors, int64_t dim) {
  if (tensors.empty()) fail("cat: expected a non-empty list of tensors");
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!tensors[i].defined()) fail("cat: tensor {} is undefined", i);
  DType d = tensors[0].dtype();
  for (const Tensor &t : tensors) d = promote_types(d, t.dtype());
  std::vector<Tensor> parts;
  for (const Tensor &t : tensors) parts.push_back(t.dtype() == d ? t : t.to(d));
  return dispatch(OpKind::Cat, std::span<const Tensor>(parts), Attrs{{"dim", dim}});
}

Tensor stack(const std::vector<Tensor> &tensors, int64_t dim) {
  if (tensors.empty()) fail("stack: expected a non-empty list of tensors");
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) fail("stack: tensor {} is undefined", i);
    if (tensors[i].sizes() != tensors[0].sizes())
      fail("stack: tensor {} has shape {}, expected {} like tensor 0", i,
           format_shape(tensors[i].sizes()), format_shape(tensors[0].sizes()));
  }
  const int64_t d = normalize_dim("stack", dim, tensors[0].dim() + 1);
  std::vector<Tensor> parts;
  for (const Tensor &t : tensors) parts.push_back(unsqueeze(t, d));
  return cat(parts, d);
}

std::vector<Tensor> split(const Tensor &x, int64_t split_size, int64_t dim) {
  defined(x, "split");
  if (split_size <= 0) fail("split: split_size must be positive, got {}", split_size);
  if (x.dim() == 0) fail("split: cannot split a 0-dim tensor");
  const int64_t d = normalize_dim("split", dim, x.dim());
  std::vector<Tensor> parts;
  for (int64_t s = 0; s < x.size(d) || (s == 0 && x.size(d) == 0); s += split_size) {
    parts.push_back(slice_raw(x, d, s, std::min(x.size(d), s + split_size), 1));
    if (x.size(d) == 0) break;
  }
  return parts;
}

std::vector<Tensor> chunk(const Tensor &x, int64_t chunks, int64_t dim) {
  defined(x, "chunk");
  if (chunks <= 0) fail("chunk: number of chunks must be positive, got {}", chunks);
  if (x.dim() == 0) fail("chunk: cannot chunk a 0-dim tensor");
  const int64_t n = x.size(normalize_dim("chunk", dim, x.dim()));
  return split(x, std::max<int64_t>(1, (n + chunks - 1) / chunks), dim);
}

Tensor contiguous(const Tensor &x) {
  if (defined(x, "contiguous").is_contiguous()) return x;
  return dispatch(OpKind::Convert, {x}, Attrs{{"dtype", x.dtype()}});
}

Tensor clone(const Tensor &x) {
  return dispatch(OpKind::Convert, {defined(x, "clone")}, Attrs{{"dtype", x.dtype()}});
}

Tensor to(const Tensor &x, DType dtype) {
  if (defined(x, "to").dtype() == dtype) return x;
  return dispatch(OpKind::Convert, {x}, Attrs{{"dtype", dtype}});
}

}  // namespace kiln
