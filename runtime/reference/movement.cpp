// Movement ops: a view where strides allow, a strided copy otherwise.
#include "runtime/reference/movement.h"

#include "ir/diag.h"
#include "runtime/reference/elementwise.h"

namespace kiln::runtime {

std::optional<Layout> movement_view(OpKind op, const Layout &in, const Attrs &attrs) {
  switch (op) {
    case OpKind::Reshape: return reshape_layout(in, attrs.get_ints("shape"));
    case OpKind::Permute: {
      std::vector<int64_t> perm = attrs.get_ints("perm");
      for (int64_t &p : perm)
        p = normalize_dim("permute", p, static_cast<int64_t>(in.sizes.size()));
      return permute_layout(in, perm);
    }
    case OpKind::Broadcast: return broadcast_layout(in, attrs.get_ints("shape"));
    case OpKind::Slice: {
      int64_t dim =
          normalize_dim("slice", attrs.get_int("dim"), static_cast<int64_t>(in.sizes.size()));
      return slice_layout(in, dim, attrs.get_int("start"), attrs.get_int("stop", in.sizes[dim]),
                          attrs.get_int("step", 1));
    }
    default: return std::nullopt;
  }
}

void movement_kernel(OpKind op, std::span<const View> in, const Attrs &attrs, const View &out) {
  if (op == OpKind::Cat) {
    const int64_t rank = out.rank();
    const int64_t dim = normalize_dim("cat", attrs.get_int("dim"), rank);
    Layout whole = Layout::contiguous(out.sizes);
    int64_t start = 0;
    for (const View &v : in) {
      Layout part = slice_layout(whole, dim, start, start + v.sizes[dim], 1);
      copy_into(v, make_view(out.data, out.dtype, part));
      start += v.sizes[dim];
    }
    return;
  }
  // Express the op as a view of the input's memory, then copy that view out.
  const View &x = in[0];
  std::optional<Layout> view = movement_view(op, Layout{x.sizes, x.strides, 0}, attrs);
  if (op == OpKind::Reshape && !view) {
    // Reshape keeps element order: copy in the input's shape, which is contiguous output.
    convert_kernel(x, View{out.data, out.dtype, x.sizes, contiguous_strides(x.sizes)});
    return;
  }
  KILN_CHECK(view.has_value(), "{} produced no view", op_name(op));
  convert_kernel(make_view(x.data, x.dtype, *view), out);
}

}  // namespace kiln::runtime
