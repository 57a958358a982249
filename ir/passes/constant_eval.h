// Elementwise ops evaluated on constant scalars, as the eager kernels compute them: floats
// in double then rounded to the result dtype, bool and integers exactly in wrapping int64.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "ir/attrs.h"
#include "ir/op_kind.h"

namespace kiln::ir {

// One scalar of a given dtype: `i` holds bool and integer values, `f` float values.
struct Constant {
  DType dtype = DType::F32;
  int64_t i = 0;
  double f = 0.0;
};

// The value of a `full` node, as its dtype holds it.
[[nodiscard]] Constant full_value(const Attrs &full_attrs);

// The attribute a `full` of c's dtype stores: int64 for bool and integers, double for floats.
[[nodiscard]] AttrValue value_attr(const Constant &c);

// c converted to dtype `to` with the convert kernel's rules (floats saturate into
// integers, NaN becomes 0; anything non-zero becomes true).
[[nodiscard]] Constant convert_to(const Constant &c, DType to);

// Elementwise op `op` on constant operands, giving a value of dtype `out`; nullopt where the
// eager kernel would throw (integer pow to a negative power, integer fmod by zero).
[[nodiscard]] std::optional<Constant> eval_elementwise(OpKind op, std::span<const Constant> in,
                                                       const Attrs &attrs, DType out);

// True when every elementwise op has a formula here (tests check it).
[[nodiscard]] bool has_formula(OpKind op);

}  // namespace kiln::ir
