// The thread-local active trace and captured constants.
#include "tracer/trace.h"

#include <fmt/format.h>

namespace kiln::tracer {
namespace {
thread_local Trace *t_active = nullptr;
}  // namespace

GraphBreak::GraphBreak(std::string op, std::string reason)
    : op_(std::move(op)),
      reason_(std::move(reason)),
      message_(fmt::format("graph break at '{}': {}", op_, reason_)) {}

void graph_break(std::string op, std::string reason) {
  throw GraphBreak(std::move(op), std::move(reason));
}

Trace::Trace(std::string graph_name) { graph.name = std::move(graph_name); }

namespace {

bool same_view(const runtime::Array &a, const runtime::Array &b) {
  return a.storage.same_as(b.storage) && a.dtype == b.dtype && a.layout.sizes == b.layout.sizes &&
         a.layout.strides == b.layout.strides && a.layout.offset == b.layout.offset;
}

}  // namespace

ir::ValueId Trace::capture(const std::shared_ptr<const void> &owner, const runtime::Array &array) {
  if (auto it = captured_index_.find(owner.get()); it != captured_index_.end())
    return current_[it->second];
  for (size_t i = 0; i < captured.size(); ++i) {
    if (!captured[i].storage.same_as(array.storage)) continue;
    if (same_view(captured[i], array)) {
      // Another handle on a tensor captured already: the same value, written or not.
      captured_index_.emplace(owner.get(), i);
      alias_owners_.push_back(owner);  // alive for the trace, like the first handle
      return current_[i];
    }
    for (const Write &w : writes)
      if (w.captured == i)
        graph_break("a view of a tensor written in place",
                    "the function reads a tensor whose memory an in-place write changed "
                    "through another view of it; compiled code cannot keep the two in step");
  }
  // The next free name: an argument may itself be called captured0.
  std::string name;
  for (size_t k = captured.size();; ++k) {
    name = fmt::format("captured{}", k);
    bool used = false;
    for (ir::ValueId v : graph.inputs) used |= graph.value(v).name == name;
    if (!used) break;
  }
  captured_index_.emplace(owner.get(), captured.size());
  current_.push_back(graph.add_input(name, array.type()));
  captured.push_back(array);
  owners_.push_back(owner);
  return current_.back();
}

void Trace::write(std::string_view op, const std::shared_ptr<const void> &owner,
                  const runtime::Array &array, ir::ValueId value) {
  (void)capture(owner, array);
  const size_t index = captured_index_.at(owner.get());
  for (size_t i = 0; i < captured.size(); ++i)
    if (i != index && captured[i].storage.same_as(array.storage) && !same_view(captured[i], array))
      graph_break(std::string(op),
                  "the tensor written in place shares memory with another tensor the function "
                  "reads (a view of it); compiled code cannot keep the two in step");
  // Views taken of the old value go stale: reading one later is a graph break.
  std::unordered_set<ir::ValueId> views = {current_[index]};
  for (const ir::Node &n : graph.nodes)
    if (op_info(n.op).category == OpCategory::Movement && n.op != OpKind::Cat &&
        views.count(n.operands[0]) != 0) {
      views.insert(n.result);
      stale_.insert(n.result);
    }
  current_[index] = value;  // every handle on this tensor now reads the new value
  for (Write &w : writes)
    if (w.captured == index) {
      w.value = value;
      return;
    }
  writes.push_back({index, value});
}

void Trace::read_flag(const std::shared_ptr<const bool> &flag) {
  for (const auto &[f, _] : flag_reads)
    if (f.lock() == flag) return;
  flag_reads.emplace_back(flag, *flag);
}

void Trace::touch(Touch touch, std::function<void()> restore) {
  for (const Touch &t : touched)
    if (t.object == touch.object) return;
  touched.push_back(std::move(touch));
  undo.push_back(std::move(restore));
}

std::vector<std::weak_ptr<const void>> Trace::captured_owners() const {
  return {owners_.begin(), owners_.end()};
}

Trace *active() { return t_active; }

Scope::Scope(Trace &trace) : previous_(t_active) { t_active = &trace; }
Scope::~Scope() { t_active = previous_; }

}  // namespace kiln::tracer
