// The decompositions of composite ops, one function per op, and the small builder they
// share. Each appends primitive nodes to the graph and returns the value that replaces n.
#pragma once

#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

// Appends nodes at the end of g.nodes; every type comes from the op's type rule.
struct Builder {
  Graph &g;

  ValueId emit(OpKind op, std::vector<ValueId> operands, Attrs attrs = {});
  // A `full` of shape [] with x's dtype, broadcast to `shape`.
  ValueId constant(double value, DType dtype, const Shape &shape);
  // v broadcast to `shape` (v itself when it already has that shape).
  ValueId broadcast(ValueId v, const Shape &shape);
  // A reduction over `dims` (empty = all) keeping or dropping the reduced dims.
  ValueId reduce(OpKind op, ValueId x, const std::vector<int64_t> &dims, bool keepdim);
  // How many elements of x a reduction over `dims` (empty = all) combines into one.
  [[nodiscard]] int64_t count(ValueId x, const std::vector<int64_t> &dims) const;
  // sum / n, where n = count(x, dims).
  ValueId mean(ValueId x, const std::vector<int64_t> &dims, bool keepdim);
  // By value: emitting nodes grows the value table, which would leave a reference dangling.
  [[nodiscard]] TensorType type(ValueId v) const { return g.type(v); }
};

// n's operands are already values of b.g. Each returns the value that replaces n.result.
ValueId decompose_softmax(Builder &b, const Node &n);
ValueId decompose_log_softmax(Builder &b, const Node &n);
ValueId decompose_layer_norm(Builder &b, const Node &n);
ValueId decompose_rms_norm(Builder &b, const Node &n);
ValueId decompose_gelu(Builder &b, const Node &n);
ValueId decompose_silu(Builder &b, const Node &n);
ValueId decompose_mse_loss(Builder &b, const Node &n);
ValueId decompose_mean(Builder &b, const Node &n);
ValueId decompose_var(Builder &b, const Node &n);
ValueId decompose_std(Builder &b, const Node &n);
ValueId decompose_logsumexp(Builder &b, const Node &n);

}  // namespace kiln::ir
