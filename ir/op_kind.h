// OpKind and the per-op facts generated from the op table in ir/ops.def.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kiln {

enum class OpCategory : uint8_t { Source, Elementwise, Reduce, Contraction, Movement, Composite };

enum class OpKind : uint16_t {
#define KILN_OP(id, name, min_arity, max_arity, category) id,
#include "ir/ops.def"
#undef KILN_OP
};

inline constexpr int kNumOps = 0
#define KILN_OP(id, name, min_arity, max_arity, category) +1
#include "ir/ops.def"
#undef KILN_OP
    ;

struct OpInfo {
  OpKind kind;
  std::string_view name;
  int min_arity;
  int max_arity;
  OpCategory category;
};

inline constexpr std::array<OpInfo, kNumOps> kOpTable = {{
#define KILN_OP(id, name, min_arity, max_arity, category) \
  {OpKind::id, name, min_arity, max_arity, OpCategory::category},
#include "ir/ops.def"
#undef KILN_OP
}};

[[nodiscard]] constexpr const OpInfo &op_info(OpKind op) {
  return kOpTable[static_cast<size_t>(op)];
}
[[nodiscard]] constexpr std::string_view op_name(OpKind op) { return op_info(op).name; }
[[nodiscard]] std::optional<OpKind> op_from_name(std::string_view name);
[[nodiscard]] std::string_view category_name(OpCategory category);
// Elementwise math functions that code generation expands into a polynomial or a libm
// call: tens of instructions each, where other elementwise ops are about one.
[[nodiscard]] bool is_math_function(OpKind op);
// Ops that draw from the random generator: their attrs "seed" and "offset" say where in the
// Philox stream they read (a compiled program patches both at each call, runtime/program.h).
[[nodiscard]] constexpr bool draws_random(OpKind op) {
  return op == OpKind::Rand || op == OpKind::Randn || op == OpKind::Randint ||
         op == OpKind::Dropout;
}

}  // namespace kiln
