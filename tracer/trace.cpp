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

ir::ValueId Trace::capture(const std::shared_ptr<const void> &owner, const runtime::Array &array) {
  auto [it, fresh] = captured_ids_.try_emplace(owner.get(), -1);
  if (!fresh) return it->second;
  // The next free name: an argument may itself be called captured0.
  std::string name;
  for (size_t k = captured.size();; ++k) {
    name = fmt::format("captured{}", k);
    bool used = false;
    for (ir::ValueId v : graph.inputs) used |= graph.value(v).name == name;
    if (!used) break;
  }
  it->second = graph.add_input(name, array.type());
  captured.push_back(array);
  owners_.push_back(owner);
  return it->second;
}

std::vector<std::weak_ptr<const void>> Trace::captured_owners() const {
  return {owners_.begin(), owners_.end()};
}

Trace *active() { return t_active; }

Scope::Scope(Trace &trace) : previous_(t_active) { t_active = &trace; }
Scope::~Scope() { t_active = previous_; }

}  // namespace kiln::tracer
