// The rule tables of simplify, one file per op family. A rule looks at one node whose
// operands are already simplified and says what stands for its result.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

// defs[v] is the node defining value v, or nullptr for a graph input.
using Defs = std::vector<const Node *>;

// Returns an existing value that equals n's result, or n.result itself after rewriting n in
// place (to something strictly simpler), or nullopt when the rule does not apply.
using RuleFn = std::optional<ValueId> (*)(const Graph &g, Node &n, const Defs &defs);

struct Rule {
  OpKind op;
  RuleFn apply;
};

[[nodiscard]] std::span<const Rule> arith_rules();
[[nodiscard]] std::span<const Rule> movement_rules();
[[nodiscard]] std::span<const Rule> convert_rules();

// Shared rule: a unary op whose result type equals its operand's type is its operand.
[[nodiscard]] std::optional<ValueId> same_type(const Graph &g, Node &n, const Defs &defs);

// The node defining v when it is an `op` node, else nullptr.
[[nodiscard]] const Node *def_of(const Defs &defs, ValueId v, OpKind op);

}  // namespace kiln::ir
