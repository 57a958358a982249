// The autograd engine: recording a node per differentiable op (called from dispatch), and
// backward: a walk of the recorded nodes in dependency order (each node runs once every
// node using its output has added its share of the gradient), applying derivatives.cpp.
#include "autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "dispatch.h"
#include "ir/diag.h"
#include "kiln/autograd.h"
#include "kiln/ops.h"
#include "tracer/trace.h"

namespace kiln {
namespace {
thread_local bool t_grad_enabled = true;
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }

namespace autograd {
namespace {

detail::AutogradMeta *meta_of(const Tensor &t) {
  return t.defined() ? t.impl().autograd.get() : nullptr;
}

bool carries_grad(const Tensor &t) { return t.defined() && requires_grad(t.impl()); }

detail::AutogradMeta &meta_for(const Tensor &t) {
  std::shared_ptr<detail::AutogradMeta> &m = t.impl().autograd;
  if (!m) m = std::make_shared<detail::AutogradMeta>();
  return *m;
}

SavedTensor save(const Tensor &t, bool values) {
  if (values) return {without_history(t), t.impl().storage.version(), true};
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->dtype = t.dtype();
  impl->layout = t.impl().layout;
  return {Tensor(std::move(impl)), 0, false};
}

// An eager view (a movement op's result in its input's memory): its node keeps the memory's
// version, not its values, so a backward through it after an in-place write to the view or
// its base fails instead of differentiating values the view no longer has.
SavedTensor save_view(const Tensor &view) {
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->dtype = view.dtype();
  impl->layout = view.impl().layout;
  impl->storage = view.impl().storage;
  return {Tensor(std::move(impl)), view.impl().storage.version(), false};
}

Edge edge_to(const Tensor &t) {
  const detail::AutogradMeta *m = meta_of(t);
  if (m == nullptr || !is_floating(t.dtype())) return {};
  if (m->grad_fn) return {m->grad_fn, nullptr};
  if (m->requires_grad) return {nullptr, t.impl_ptr()};
  return {};
}

// A gradient to keep in .grad(): its own memory, so an in-place update of .grad() (an
// optimizer's weight decay) cannot write into a tensor someone else holds.
Tensor owned(Tensor g) {
  if (g.impl().trace != nullptr) return g;
  if (g.impl_ptr().use_count() == 1 && g.impl().storage.use_count() == 1 && g.is_contiguous() &&
      g.offset() == 0)
    return g;
  return clone(g);
}

void add_into(Tensor &sum, Tensor g) {
  if (!sum.defined())
    sum = std::move(g);
  else
    sum = sum + g;
}

// While tracing, a concrete tensor's .grad() set by the traced function becomes an output
// of the graph, set again by each compiled call; the trace itself must leave it as it was.
// `reads`: the change adds to the .grad() there is (backward) rather than replacing it.
void note_grad_change(const std::shared_ptr<detail::TensorImpl> &t, bool reads) {
  tracer::Trace *trace = tracer::active();
  if (trace == nullptr || t->trace != nullptr) return;
  if (!t->autograd) t->autograd = std::make_shared<detail::AutogradMeta>();
  const Tensor before = t->autograd->grad;
  trace->touch({t, before.defined() ? before.impl_ptr() : nullptr, reads},
               [t, before] { t->autograd->grad = before; });
}

void accumulate_into_grad(const std::shared_ptr<detail::TensorImpl> &t, Tensor g) {
  note_grad_change(t, /*reads=*/true);
  detail::AutogradMeta &m = *t->autograd;
  if (!m.grad.defined())
    m.grad = owned(std::move(g));
  else
    m.grad = m.grad + g;
}

void check_unchanged(const Node &n, const SavedTensor &s) {
  if (!s.data.defined()) return;
  const runtime::Storage &storage = s.data.impl().storage;
  if (storage.version() == s.version) return;
  if (!s.values)
    fail(
        "backward: the view made by {} was changed in place since it was taken (by {}; "
        "version {}, expected {})\n  hint: take the view after the in-place op, or clone() it",
        op_name(n.op), storage.last_writer().empty() ? "an in-place op" : storage.last_writer(),
        storage.version(), s.version);
  fail(
      "backward: a tensor that {} saved for its gradient was changed in place since (by {}; "
      "version {}, expected {})\n  hint: write that update out of place, or clone() the tensor "
      "before changing it",
      op_name(n.op), storage.last_writer().empty() ? "an in-place op" : storage.last_writer(),
      storage.version(), s.version);
}

// What backward computes for: every leaf's .grad() (backward()), or the gradients of
// chosen tensors, returned (grad()).
struct Targets {
  bool into_leaves = true;
  std::unordered_map<const Node *, size_t> nodes;
  std::unordered_map<const detail::TensorImpl *, size_t> leaves;
  std::vector<Tensor> found;
};

void deliver_to_leaf(const Edge &e, Tensor g, Targets &targets) {
  if (auto it = targets.leaves.find(e.leaf.get()); it != targets.leaves.end())
    add_into(targets.found[it->second], std::move(g));
  else if (targets.into_leaves)
    accumulate_into_grad(e.leaf, std::move(g));
}

void run_backward(const std::vector<Tensor> &roots, const std::vector<Tensor> &root_grads,
                  bool retain_graph, Targets &targets) {
  NoGradGuard no_grad;
  std::unordered_map<const Node *, Tensor> pending;
  std::vector<std::shared_ptr<Node>> starts;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Edge e = edge_to(roots[i]);
    if (e.node) {
      add_into(pending[e.node.get()], root_grads[i]);
      starts.push_back(e.node);
    } else if (e.leaf) {
      deliver_to_leaf(e, root_grads[i], targets);
    }
  }

  // How many edges lead into each node reachable from the roots.
  std::unordered_map<const Node *, size_t> users;
  std::unordered_set<const Node *> seen;
  std::vector<std::shared_ptr<Node>> stack;
  for (const auto &s : starts)
    if (seen.insert(s.get()).second) stack.push_back(s);
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    for (const Edge &e : n->next) {
      if (!e.node) continue;
      ++users[e.node.get()];
      if (seen.insert(e.node.get()).second) stack.push_back(e.node);
    }
  }

  std::vector<std::shared_ptr<Node>> ready;
  std::unordered_set<const Node *> queued;
  for (const auto &s : starts)
    if (users[s.get()] == 0 && queued.insert(s.get()).second) ready.push_back(s);
  while (!ready.empty()) {
    std::shared_ptr<Node> n = std::move(ready.back());
    ready.pop_back();
    Tensor g;
    if (auto it = pending.find(n.get()); it != pending.end()) {
      g = std::move(it->second);
      pending.erase(it);
    }
    if (g.defined()) {
      if (n->released)
        fail(
            "backward: the graph through {} was already freed by an earlier backward\n"
            "  hint: pass retain_graph = true to the first backward to go through it twice",
            op_name(n->op));
      if (auto out = n->retained.lock(); out && out->autograd) accumulate_into_grad(out, g);
      if (auto it = targets.nodes.find(n.get()); it != targets.nodes.end())
        add_into(targets.found[it->second], g);
    }
    std::vector<Tensor> grads;
    std::vector<bool> needed(n->next.size());
    for (size_t i = 0; i < needed.size(); ++i) needed[i] = n->next[i].needed();
    if (g.defined()) {
      for (const SavedTensor &s : n->inputs) check_unchanged(*n, s);
      check_unchanged(*n, n->output);
      grads = derivative(*n, g, needed);
      grads.resize(n->next.size());
    }
    for (size_t i = 0; i < n->next.size(); ++i) {
      const Edge &e = n->next[i];
      const bool has = i < grads.size() && grads[i].defined() && needed[i];
      if (e.node) {
        if (has) add_into(pending[e.node.get()], std::move(grads[i]));
        if (--users[e.node.get()] == 0 && queued.insert(e.node.get()).second)
          ready.push_back(e.node);
      } else if (e.leaf && has) {
        deliver_to_leaf(e, std::move(grads[i]), targets);
      }
    }
    if (!retain_graph && g.defined()) {
      n->released = true;
      if (tracer::Trace *trace = tracer::active()) {
        // Nothing is freed while tracing: the graph may come from eager code, which a graph
        // break runs again through it; the trace puts the mark back when it ends.
        trace->undo.push_back([n] { n->released = false; });
      } else {
        n->inputs.clear();
        n->output = {};
      }
    }
  }
}

Tensor seed_gradient(const Tensor &t, const Tensor &gradient, std::string_view what) {
  if (!gradient.defined()) {
    if (t.numel() != 1)
      fail(
          "{}: the tensor has shape {}, not one element, so its gradient must be given\n"
          "  hint: pass a gradient of shape {}, or reduce the tensor first (sum, mean)",
          what, format_shape(t.sizes()), format_shape(t.sizes()));
    return ones_like(t);
  }
  if (gradient.sizes() != t.sizes())
    fail("{}: the gradient has shape {}, expected the tensor's shape {}", what,
         format_shape(gradient.sizes()), format_shape(t.sizes()));
  return gradient.to(t.dtype());
}

[[noreturn]] void no_grad_error(std::string_view what, size_t index) {
  fail(
      "{}: output {} does not require grad: no tensor it came from had requires_grad_() set, "
      "or it was computed under NoGradGuard",
      what, index);
}

}  // namespace

bool requires_grad(const detail::TensorImpl &t) {
  return t.autograd && (t.autograd->requires_grad || t.autograd->grad_fn);
}

Tensor without_history(const Tensor &t) {
  auto impl = std::make_shared<detail::TensorImpl>(t.impl());
  impl->autograd.reset();
  return Tensor(std::move(impl));
}

void record(OpKind op, std::span<const Tensor> inputs, const Attrs &attrs, Tensor &result) {
  if (!t_grad_enabled) return;
  bool any = false;
  for (const Tensor &t : inputs) any = any || carries_grad(t);
  if (!any || !is_floating(result.dtype()) || !differentiable(op)) return;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->attrs = attrs;
  node->inputs.reserve(inputs.size());
  node->next.reserve(inputs.size());
  const SavedParts parts = saved_parts(op);
  for (const Tensor &t : inputs) {
    node->inputs.push_back(save(t, parts.inputs));
    node->next.push_back(edge_to(t));
  }
  node->output = save(result, parts.output);
  if (op_info(op).category == OpCategory::Movement && !inputs.empty() &&
      result.shares_storage(inputs[0]))
    node->output = save_view(result);
  meta_for(result).grad_fn = std::move(node);
}

}  // namespace autograd

// --- the Tensor methods of autograd ------------------------------------------------------

bool Tensor::requires_grad() const { return autograd::carries_grad(*this); }

const Tensor &Tensor::requires_grad_(bool requires_grad) const {
  const detail::AutogradMeta *m = autograd::meta_of(*this);
  if (m != nullptr && m->grad_fn) {
    if (requires_grad) return *this;
    fail(
        "requires_grad_: this tensor was made by {} from tensors that require grad, so it "
        "always does\n  hint: detach() gives the same data without history",
        op_name(m->grad_fn->op));
  }
  if (requires_grad && !is_floating(dtype()))
    fail("requires_grad_: only floating-point tensors can require gradients, got {}",
         dtype_name(dtype()));
  autograd::meta_for(*this).requires_grad = requires_grad;
  return *this;
}

bool Tensor::is_leaf() const {
  const detail::AutogradMeta *m = autograd::meta_of(*this);
  return m == nullptr || m->grad_fn == nullptr;
}

Tensor Tensor::grad() const {
  // Read while tracing: the entry then holds only while .grad() stays as it was.
  if (defined() && tracer::active() != nullptr && impl().trace == nullptr)
    autograd::note_grad_change(impl_ptr(), /*reads=*/true);
  const detail::AutogradMeta *m = autograd::meta_of(*this);
  return m != nullptr ? m->grad : Tensor();
}

void Tensor::set_grad(const Tensor &grad) const {
  if (grad.defined() && (grad.sizes() != sizes() || grad.dtype() != dtype()))
    fail("set_grad: the gradient is {}{}, expected the tensor's {}{}", dtype_name(grad.dtype()),
         format_shape(grad.sizes()), dtype_name(dtype()), format_shape(sizes()));
  if (!grad.defined() && autograd::meta_of(*this) == nullptr) return;
  autograd::note_grad_change(impl_ptr(), /*reads=*/false);
  autograd::meta_for(*this).grad = grad;
}

const Tensor &Tensor::retain_grad() const {
  if (!requires_grad())
    fail("retain_grad: the tensor does not require grad, so it will never get a gradient");
  detail::AutogradMeta &m = autograd::meta_for(*this);
  if (m.grad_fn) {
    m.grad_fn->retained = impl_ptr();
  }
  return *this;
}

std::string Tensor::grad_fn_name() const {
  const detail::AutogradMeta *m = autograd::meta_of(*this);
  return m != nullptr && m->grad_fn ? std::string(op_name(m->grad_fn->op)) : std::string();
}

void Tensor::backward(const Tensor &gradient, bool retain_graph) const {
  if (!defined()) fail("backward: the tensor is undefined");
  if (!requires_grad()) autograd::no_grad_error("backward", 0);
  autograd::Targets targets;
  autograd::run_backward({*this}, {autograd::seed_gradient(*this, gradient, "backward")},
                         retain_graph, targets);
}

Tensor Tensor::detach() const { return autograd::without_history(*this); }

std::vector<Tensor> grad(const std::vector<Tensor> &outputs, const std::vector<Tensor> &inputs,
                         const std::vector<Tensor> &grad_outputs, bool retain_graph,
                         bool allow_unused) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    fail("grad: {} grad_outputs for {} outputs; give one per output or none", grad_outputs.size(),
         outputs.size());
  std::vector<Tensor> seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined()) fail("grad: output {} is an undefined tensor", i);
    if (!outputs[i].requires_grad()) autograd::no_grad_error("grad", i);
    seeds.push_back(autograd::seed_gradient(
        outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i], "grad"));
  }
  autograd::Targets targets;
  targets.into_leaves = false;
  targets.found.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) fail("grad: input {} is an undefined tensor", i);
    if (!inputs[i].requires_grad())
      fail("grad: input {} does not require grad, so nothing can be differentiated by it", i);
    const detail::AutogradMeta *m = autograd::meta_of(inputs[i]);
    if (m->grad_fn)
      targets.nodes.emplace(m->grad_fn.get(), i);
    else
      targets.leaves.emplace(&inputs[i].impl(), i);
  }
  autograd::run_backward(outputs, seeds, retain_graph, targets);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (targets.found[i].defined()) continue;
    if (!allow_unused)
      fail(
          "grad: input {} was not used to compute the outputs\n  hint: pass allow_unused = true "
          "to get zeros for it",
          i);
    targets.found[i] = zeros_like(inputs[i]);
  }
  return targets.found;
}

}  // namespace kiln
