// The fused form of a graph as text: the graph with one `call` line per kernel group, then
// one `kernel` block per group. Values keep their numbers from print(g), so a fused dump
// reads side by side with the unfused one.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "ir/printer.h"
#include "lowering/fusion.h"

namespace kiln::lower {

using ir::Graph;
using ir::Node;
using ir::ValueId;
namespace {

std::string refs(const std::vector<std::string> &names, const std::vector<ValueId> &values) {
  std::vector<std::string> out;
  for (ValueId v : values) out.push_back("%" + names[v]);
  return fmt::format("{}", fmt::join(out, ", "));
}

std::string typed_refs(const Graph &g, const std::vector<std::string> &names,
                       const std::vector<ValueId> &values) {
  std::vector<std::string> out;
  for (ValueId v : values) out.push_back(fmt::format("%{}: {}", names[v], g.type(v).str()));
  return fmt::format("{}", fmt::join(out, ", "));
}

// Members plus the views and constants the group computes inline, in graph order.
std::set<int32_t> kernel_nodes(const Graph &g, std::span<const int32_t> producer,
                               const Group &group) {
  std::set<int32_t> nodes(group.members.begin(), group.members.end());
  std::vector<ValueId> pending;
  for (size_t i = 0; i < group.members.size(); ++i) {
    // A matmul's operands, cast or not, are buffers the GEMM packs, not inlined views.
    if (group.kind == GroupKind::Matmul && (i == 0 || group.roles[i] == Role::Prologue)) continue;
    for (ValueId o : g.nodes[group.members[i]].operands) pending.push_back(o);
  }
  while (!pending.empty()) {
    ValueId v = pending.back();
    pending.pop_back();
    ViewChain chain = resolve_views(g, producer, v);
    nodes.insert(chain.views.begin(), chain.views.end());
    if (chain.constant) {
      nodes.insert(producer[chain.root]);
      for (ValueId o : g.nodes[producer[chain.root]].operands) pending.push_back(o);
    }
  }
  return nodes;
}

std::string kernel_note(const Group &group) {
  if (group.kind == GroupKind::Row)
    return fmt::format("row over {}, reducing dims [{}]", format_shape(group.shape),
                       fmt::join(group.reduce_dims, ","));
  if (group.kind == GroupKind::Matmul)
    return group.members.size() == 1
               ? fmt::format("matmul to {}", format_shape(group.shape))
               : fmt::format("matmul to {} with its epilogue", format_shape(group.shape));
  return fmt::format("pointwise over {}", format_shape(group.shape));
}

}  // namespace

std::string print_fused(const Graph &g, const FusionPlan &plan) {
  const std::vector<std::string> names = print_names(g);
  const std::vector<int32_t> producer = producer_nodes(g);
  std::string body = print_header(g, names);
  std::string kernels;
  int kernel_count = 0;
  for (const Group &group : plan.groups) {
    if (group.kind == GroupKind::Library) {
      body += "  " + print_node(g, g.nodes[group.members[0]], names) + "\n";
      continue;
    }
    const std::string kernel = fmt::format("{}.k{}", g.name, kernel_count++);
    // A matmul's operands lead its inputs and may be read again by its epilogue (x @ x,
    // x @ w + x): each buffer is listed once.
    std::vector<ValueId> inputs;
    for (ValueId v : group.inputs)
      if (std::find(inputs.begin(), inputs.end(), v) == inputs.end()) inputs.push_back(v);
    body += fmt::format("  {} = call[kernel=@{}] {}\n", typed_refs(g, names, group.outputs), kernel,
                        refs(names, inputs));
    kernels +=
        fmt::format("\nkernel @{}({}) -> ({}) {{  # {}\n", kernel, typed_refs(g, names, inputs),
                    refs(names, group.outputs), kernel_note(group));
    for (int32_t n : kernel_nodes(g, producer, group))
      kernels += "  " + print_node(g, g.nodes[n], names) + "\n";
    kernels += fmt::format("  return {}\n}}\n", refs(names, group.outputs));
  }
  body += g.outputs.empty() ? "  return\n" : "  return " + refs(names, g.outputs) + "\n";
  return body + "}\n" + kernels;
}

}  // namespace kiln::lower
