// ir::Graph: a function as a flat SSA list. Each value is defined once (a graph input or
// one node's result) and has a static type; operands are value ids, never pointers. The
// node order is the only order: an operand is always defined by an earlier line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/attrs.h"
#include "ir/device.h"
#include "ir/op_kind.h"
#include "ir/tensor_type.h"

namespace kiln::ir {

using ValueId = int32_t;

struct Value {
  TensorType type;
  std::string name;  // graph inputs keep the user's name; other values print as %0, %1, …
};

struct Node {
  OpKind op;
  std::vector<ValueId> operands;
  Attrs attrs;
  ValueId result;
};

// A guard that is not a type: the value a scalar argument had when traced.
struct ScalarGuard {
  std::string name;
  std::string value;  // as printed: 0.5, 3, true
  friend bool operator==(const ScalarGuard &, const ScalarGuard &) = default;
};

class Graph {
 public:
  std::string name = "graph";
  Device device;
  std::vector<ScalarGuard> scalar_guards;
  std::vector<ValueId> inputs;
  std::vector<Node> nodes;
  std::vector<ValueId> outputs;

  ValueId add_input(std::string name, TensorType type);
  // Appends a node whose result type comes from the op's type rule (throws kiln::Error).
  ValueId add_node(OpKind op, std::vector<ValueId> operands, Attrs attrs = {});
  // Appends a node with a given result type (the parser; the verifier checks it).
  ValueId add_node_typed(OpKind op, std::vector<ValueId> operands, Attrs attrs, TensorType type);
  // A fresh value not yet defined by anything (passes building replacement lists).
  ValueId new_value(TensorType type);

  [[nodiscard]] const TensorType &type(ValueId v) const { return values_.at(v).type; }
  [[nodiscard]] const Value &value(ValueId v) const { return values_.at(v); }
  [[nodiscard]] int32_t num_values() const { return static_cast<int32_t>(values_.size()); }
  [[nodiscard]] bool is_input(ValueId v) const;

 private:
  std::vector<Value> values_;
};

// Replaces every use of `from` (operands and outputs) by `to`.
void replace_uses(Graph &g, ValueId from, ValueId to);

// Number of uses of each value (operands and outputs), indexed by value id.
[[nodiscard]] std::vector<int32_t> use_counts(const Graph &g);

// The index of the node defining each value (-1 for graph inputs), indexed by value id.
[[nodiscard]] std::vector<int32_t> producer_nodes(const Graph &g);

}  // namespace kiln::ir
