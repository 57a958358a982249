// Decomposition driver: rebuilds the node list, putting each composite's primitives where
// the composite was and forwarding its uses to their result.
#include "ir/passes/decompose.h"

#include "ir/diag.h"
#include "ir/infer.h"
#include "ir/passes/decompose_rules.h"

namespace kiln::ir {
namespace {

struct Decomposition {
  OpKind op;
  ValueId (*apply)(Builder &b, const Node &n);
};

constexpr Decomposition kDecompositions[] = {
    {OpKind::Softmax, decompose_softmax},
    {OpKind::LogSoftmax, decompose_log_softmax},
    {OpKind::LayerNorm, decompose_layer_norm},
    {OpKind::RmsNorm, decompose_rms_norm},
    {OpKind::Gelu, decompose_gelu},
    {OpKind::Silu, decompose_silu},
    {OpKind::MseLoss, decompose_mse_loss},
    {OpKind::Mean, decompose_mean},
    {OpKind::Var, decompose_var},
    {OpKind::Std, decompose_std},
    {OpKind::Logsumexp, decompose_logsumexp},
};

const Decomposition *decomposition(OpKind op) {
  for (const Decomposition &d : kDecompositions)
    if (d.op == op) return &d;
  return nullptr;
}

}  // namespace

ValueId Builder::emit(OpKind op, std::vector<ValueId> operands, Attrs attrs) {
  return g.add_node(op, std::move(operands), std::move(attrs));
}

ValueId Builder::constant(double value, DType dtype, const Shape &shape) {
  ValueId c = emit(OpKind::Full, {}, {{"shape", Shape{}}, {"dtype", dtype}, {"value", value}});
  return broadcast(c, shape);
}

ValueId Builder::broadcast(ValueId v, const Shape &shape) {
  if (type(v).shape == shape) return v;
  return emit(OpKind::Broadcast, {v}, {{"shape", shape}});
}

ValueId Builder::reduce(OpKind op, ValueId x, const std::vector<int64_t> &dims, bool keepdim) {
  Attrs attrs;
  if (!dims.empty()) attrs.set("dims", dims);
  if (keepdim) attrs.set("keepdim", true);
  return emit(op, {x}, std::move(attrs));
}

int64_t Builder::count(ValueId x, const std::vector<int64_t> &dims) const {
  Attrs attrs;
  if (!dims.empty()) attrs.set("dims", dims);
  int64_t n = 1;
  for (int64_t d : reduced_dims(OpKind::Sum, type(x), attrs)) n *= type(x).shape[d];
  return n;
}

ValueId Builder::mean(ValueId x, const std::vector<int64_t> &dims, bool keepdim) {
  int64_t n = count(x, dims);
  ValueId sum = reduce(OpKind::Sum, x, dims, keepdim);
  TensorType t = type(sum);
  return emit(OpKind::Div, {sum, constant(static_cast<double>(n), t.dtype, t.shape)});
}

bool decompose(Graph &g) {
  std::vector<Node> old = std::move(g.nodes);
  g.nodes.clear();
  std::vector<ValueId> alias(g.num_values());
  for (ValueId v = 0; v < g.num_values(); ++v) alias[v] = v;
  bool changed = false;
  for (Node &n : old) {
    for (ValueId &v : n.operands) v = alias[v];
    const Decomposition *d = decomposition(n.op);
    // An empty input gains nothing from primitives, and max-based forms (softmax,
    // logsumexp) would reduce over an empty dim, which max rejects: keep the composite.
    const bool empty_input = !n.operands.empty() && numel(g.type(n.operands[0]).shape) == 0;
    if (d == nullptr || empty_input) {
      g.nodes.push_back(std::move(n));
      continue;
    }
    Builder b{g};
    ValueId result = d->apply(b, n);
    KILN_CHECK(g.type(result) == g.type(n.result), "decompose {}: type {} became {}", op_name(n.op),
               g.type(n.result).str(), g.type(result).str());
    alias[n.result] = result;
    changed = true;
  }
  for (ValueId &v : g.outputs) v = alias[v];
  return changed;
}

}  // namespace kiln::ir
