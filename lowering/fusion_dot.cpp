// Kernel numbers follow compile_graph's: the non-library groups in plan order. Views that
// a kernel reads through (not members of any group) are drawn as small grey nodes outside
// the clusters, where the data they describe comes from.
#include "lowering/fusion_dot.h"

#include <fmt/format.h>

#include <array>
#include <vector>

#include "ir/printer.h"

namespace kiln::lower {
namespace {

// Pastel fills, distinct next to each other; kernels past the last reuse them in order.
constexpr std::array<const char *, 12> kColours = {"#cfe2f3", "#d9ead3", "#fff2cc", "#f4cccc",
                                                   "#d9d2e9", "#fce5cd", "#d0e0e3", "#ead1dc",
                                                   "#c9daf8", "#e6f4ea", "#fde9d9", "#e8e3f3"};

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string graph_dot(const ir::Graph &g, const FusionPlan *plan) {
  const std::vector<std::string> names = ir::print_names(g);
  std::string out = fmt::format(
      "digraph \"{}\" {{\n"
      "  graph [rankdir=TB, nodesep=0.25, ranksep=0.35, fontname=\"Helvetica\", fontsize=11, "
      "label=\"@{}\", labelloc=t];\n"
      "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", "
      "fontsize=10, margin=\"0.08,0.03\"];\n"
      "  edge [arrowsize=0.6, color=\"#555555\"];\n",
      escape(g.name), escape(g.name));
  auto value_label = [&](ir::ValueId v) {
    return fmt::format("%{}: {}", names[v], g.type(v).str());
  };
  auto node_line = [&](int32_t n, std::string_view extra) {
    const ir::Node &node = g.nodes[n];
    return fmt::format("  v{} [label=\"%{} = {}\\n{}\"{}];\n", node.result,
                       escape(names[node.result]), op_name(node.op),
                       escape(g.type(node.result).str()), extra);
  };
  for (ir::ValueId v : g.inputs)
    out += fmt::format("  v{} [label=\"{}\", shape=invhouse, fillcolor=\"#eeeeee\"];\n", v,
                       escape(value_label(v)));

  std::vector<bool> drawn(g.nodes.size(), false);
  if (plan != nullptr) {
    int64_t kernel = 0;
    for (size_t i = 0; i < plan->groups.size(); ++i) {
      const Group &group = plan->groups[i];
      if (group.kind == GroupKind::Library) {
        for (int32_t n : group.members) {
          out += node_line(n, ", style=\"rounded,dashed\", xlabel=\"runtime\"");
          drawn[static_cast<size_t>(n)] = true;
        }
        continue;
      }
      const char *colour = kColours[static_cast<size_t>(kernel) % kColours.size()];
      out += fmt::format(
          "  subgraph cluster_k{} {{\n    label=\"k{} {}\"; style=\"rounded,filled\"; "
          "fillcolor=\"{}\"; color=\"#888888\"; fontsize=10;\n",
          kernel, kernel, group_kind_name(group.kind), colour);
      for (int32_t n : group.members) {
        out += "  " + node_line(n, "");
        drawn[static_cast<size_t>(n)] = true;
      }
      out += "  }\n";
      ++kernel;
    }
  }
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    if (drawn[n]) continue;
    const bool view = op_info(g.nodes[n].op).category == OpCategory::Movement;
    out +=
        node_line(static_cast<int32_t>(n),
                  plan != nullptr && view ? ", fillcolor=\"#f3f3f3\", fontcolor=\"#555555\"" : "");
  }
  for (const ir::Node &node : g.nodes)
    for (ir::ValueId operand : node.operands)
      out += fmt::format("  v{} -> v{};\n", operand, node.result);
  for (size_t i = 0; i < g.outputs.size(); ++i)
    out += fmt::format(
        "  out{} [label=\"output {}\", shape=house, fillcolor=\"#eeeeee\"];\n  v{} -> out{};\n", i,
        i, g.outputs[i], i);
  return out + "}\n";
}

}  // namespace kiln::lower
