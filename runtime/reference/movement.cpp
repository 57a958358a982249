// Movement ops: a view where strides allow, a strided copy otherwise.
#include "runtime/reference/movement.h"

#include "ir/diag.h"
#include "ir/movement_view.h"
#include "runtime/reference/elementwise.h"

namespace kiln::runtime {

void movement_kernel(OpKind op, std::span<const View> in, const Attrs &attrs, const View &out) {
  if (op == OpKind::Cat) {
    const int64_t rank = out.rank();
    const int64_t dim = normalize_dim("cat", attrs.get_int("dim"), rank);
    ir::Layout whole = ir::Layout::contiguous(out.sizes);
    int64_t start = 0;
    for (const View &v : in) {
      ir::Layout part = ir::slice_layout(whole, dim, start, start + v.sizes[dim], 1);
      copy_into(v, make_view(out.data, out.dtype, part));
      start += v.sizes[dim];
    }
    return;
  }
  // Express the op as a view of the input's memory, then copy that view out.
  const View &x = in[0];
  std::optional<ir::Layout> view = ir::movement_view(op, ir::Layout{x.sizes, x.strides, 0}, attrs);
  if (op == OpKind::Reshape && !view) {
    // Reshape keeps element order: copy in the input's shape, which is contiguous output.
    convert_kernel(x, View{out.data, out.dtype, x.sizes, contiguous_strides(x.sizes)});
    return;
  }
  KILN_CHECK(view.has_value(), "{} produced no view", op_name(op));
  convert_kernel(make_view(x.data, x.dtype, *view), out);
}

}  // namespace kiln::runtime
