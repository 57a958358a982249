// movement_view: each movement op's attributes read as one of ir/layout.h's view rules.
#include "ir/movement_view.h"

#include "ir/shape.h"

namespace kiln::ir {

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

}  // namespace kiln::ir
