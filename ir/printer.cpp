// Prints a Graph in the IR text form (STYLE.md §4). The output depends only on the graph's
// contents, so equal graphs print byte-identical text; ir/parser.cpp reads it back.
#include "ir/printer.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln::ir {

namespace {

// Shortest text that reads back as the same double, always distinguishable from an int.
std::string print_double(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  std::string text = fmt::format("{}", d);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::string print_string(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

struct AttrPrinter {
  std::string operator()(bool b) const { return b ? "true" : "false"; }
  std::string operator()(int64_t i) const { return fmt::format("{}", i); }
  std::string operator()(double d) const { return print_double(d); }
  std::string operator()(const std::vector<int64_t> &v) const {
    return fmt::format("[{}]", fmt::join(v, ","));
  }
  std::string operator()(DType d) const { return std::string(dtype_name(d)); }
  std::string operator()(const std::string &s) const { return print_string(s); }
};

// A value's name with its %; ids without a definition (a broken graph) still print.
std::string value_ref(const std::vector<std::string> &names, ValueId v) {
  if (v < 0 || static_cast<size_t>(v) >= names.size()) return fmt::format("%undef{}", v);
  return "%" + names[v];
}

std::string value_list(const std::vector<std::string> &names, const std::vector<ValueId> &values) {
  std::vector<std::string> refs;
  refs.reserve(values.size());
  for (ValueId v : values) refs.push_back(value_ref(names, v));
  return fmt::format("{}", fmt::join(refs, ", "));
}

std::string print_attrs(const Attrs &attrs) {
  if (attrs.items().empty()) return "";
  std::vector<std::string> items;
  for (const auto &[key, value] : attrs.items())
    items.push_back(fmt::format("{}={}", key, print_attr(value)));
  return fmt::format("[{}]", fmt::join(items, ", "));
}

std::string print_signature(const Graph &g, const std::vector<std::string> &names) {
  std::vector<std::string> inputs;
  for (ValueId v : g.inputs) inputs.push_back(fmt::format("%{}: {}", names[v], g.type(v).str()));
  std::vector<std::string> results;
  for (ValueId v : g.outputs) results.push_back(g.type(v).str());
  std::string result =
      results.size() == 1 ? results[0] : fmt::format("({})", fmt::join(results, ", "));
  return fmt::format("graph @{}({}) -> {}", g.name, fmt::join(inputs, ", "), result);
}

std::string print_where(const Graph &g) {
  std::vector<std::string> items = {"device=" + g.device.name()};
  for (const ScalarGuard &guard : g.scalar_guards)
    items.push_back(fmt::format("{}={}", guard.name, guard.value));
  return fmt::format("where [{}]", fmt::join(items, ", "));
}

}  // namespace

std::string print_attr(const AttrValue &value) { return std::visit(AttrPrinter{}, value); }

std::vector<std::string> print_names(const Graph &g) {
  std::vector<std::string> names(g.num_values());
  for (ValueId v = 0; v < g.num_values(); ++v) names[v] = fmt::format("undef{}", v);
  for (ValueId v : g.inputs) names.at(v) = g.value(v).name;
  int next = 0;
  for (const Node &node : g.nodes)
    if (node.result >= 0 && node.result < g.num_values())
      names[node.result] = fmt::format("{}", next++);
  return names;
}

std::string print_node(const Graph &g, const Node &node, const std::vector<std::string> &names) {
  std::string text =
      fmt::format("{}: {} = {}{}", value_ref(names, node.result), g.type(node.result).str(),
                  op_name(node.op), print_attrs(node.attrs));
  if (node.operands.empty()) return text;
  return text + " " + value_list(names, node.operands);
}

std::string print_header(const Graph &g, const std::vector<std::string> &names) {
  return print_signature(g, names) + "\n    " + print_where(g) + " {\n";
}

std::string print(const Graph &g) {
  std::vector<std::string> names = print_names(g);
  std::string out = print_header(g, names);
  for (const Node &node : g.nodes) out += "  " + print_node(g, node, names) + "\n";
  out += g.outputs.empty() ? "  return\n" : "  return " + value_list(names, g.outputs) + "\n";
  return out + "}\n";
}

}  // namespace kiln::ir
