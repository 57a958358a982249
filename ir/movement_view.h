// Which view each movement op makes of a layout: the rule eager views, the eager copying
// kernels and the scheduler's index arithmetic all read, so they agree element for element.
#pragma once

#include <optional>

#include "ir/attrs.h"
#include "ir/layout.h"
#include "ir/op_kind.h"

namespace kiln::ir {

// The view a movement op makes of `in`, or nullopt when strides cannot express it
// (only reshape can fail). Cat is not a view.
[[nodiscard]] std::optional<Layout> movement_view(OpKind op, const Layout &in, const Attrs &attrs);

}  // namespace kiln::ir
