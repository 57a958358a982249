// Substituting sizes in shapes, attributes and whole graphs, and writing witnesses as
// symbols in IR text.
#include "ir/substitute_sizes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "ir/diag.h"

namespace kiln::ir {

std::vector<int64_t> witness_sizes(int n, int set) {
  std::vector<int64_t> out;
  // Small enough that a tensor of three symbolic dims (attention scores [b, 8, s, s]) keeps
  // its byte count in int64; odd primes spaced unevenly and differently in each set, so that
  // no sum, difference or ratio of symbols is the same at two sets (ir/sym_expr.h fits
  // numbers at sets 0 and 1 and checks the fit at set 2).
  // The steps from set 0 (996, 1058, 1122, … to set 1) share no small factors, so c*s_k
  // is no other symbol's multiple plus a small constant at two sets.
  static constexpr int64_t kSets[3][kMaxSymbols] = {
      {10007, 10039, 10067, 10103, 10139, 10177, 10211, 10247},
      {11003, 11097, 11189, 11289, 11401, 11495, 11585, 11685},
      {12019, 12177, 12333, 12493, 12657, 12819, 12981, 13141}};
  KILN_CHECK(set >= 0 && set < 3 && n >= 0 && n <= kMaxSymbols, "witness set {} of {} symbols", set,
             n);
  for (int k = 0; k < n; ++k) out.push_back(kSets[set][k]);
  return out;
}

int64_t SizeMap::operator()(int64_t v) const {
  for (size_t k = 0; k < from.size(); ++k)
    if (v == from[k]) return to[k];
  return v;
}

Shape substitute(const Shape &shape, const SizeMap &map) {
  Shape out(shape);
  for (int64_t &d : out) d = map(d);
  return out;
}

Attrs substitute(const Attrs &attrs, const SizeMap &map) {
  Attrs out;
  for (const auto &[key, value] : attrs.items()) {
    if (const auto *i = std::get_if<int64_t>(&value))
      out.set(key, map(*i));
    else if (const auto *v = std::get_if<std::vector<int64_t>>(&value))
      out.set(key, substitute(*v, map));
    else
      out.set(key, value);
  }
  return out;
}

namespace {

// Substituting can make a slice's stop equal to its dim's size, which the IR leaves out
// (tracing at those sizes does): drop it, so that both spell the same graph.
Attrs without_default_stop(const Attrs &attrs, const Shape &in) {
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t dim = attrs.get_int("dim");
  if (dim < 0) dim += rank;
  if (!attrs.has("stop") || dim < 0 || dim >= rank || attrs.get_int("stop") != in[dim])
    return attrs;
  Attrs out;
  for (const auto &[key, value] : attrs.items())
    if (key != "stop") out.set(key, value);
  return out;
}

}  // namespace

Graph substitute(const Graph &g, const SizeMap &map) {
  Graph out;
  out.name = g.name;
  out.device = g.device;
  out.scalar_guards = g.scalar_guards;
  std::vector<ValueId> id(static_cast<size_t>(g.num_values()), -1);
  auto type_of = [&](ValueId v) {
    return TensorType{g.type(v).dtype, substitute(g.type(v).shape, map)};
  };
  for (ValueId v : g.inputs) id[v] = out.add_input(g.value(v).name, type_of(v));
  for (const Node &n : g.nodes) {
    std::vector<ValueId> operands;
    for (ValueId o : n.operands) operands.push_back(id[o]);
    Attrs attrs = substitute(n.attrs, map);
    if (n.op == OpKind::Slice) attrs = without_default_stop(attrs, out.type(operands[0]).shape);
    id[n.result] =
        out.add_node_typed(n.op, std::move(operands), std::move(attrs), type_of(n.result));
  }
  for (ValueId v : g.outputs) out.outputs.push_back(id[v]);
  return out;
}

std::string symbolize_text(std::string_view text, std::span<const int64_t> witnesses,
                           bool multiples, std::span<const SymExpr> derived) {
  // Each derived product's value at the witnesses, and its text (s0*s0, not s0^2: the
  // parser reads products of sizes).
  std::vector<std::pair<int64_t, std::string>> products;
  for (const SymExpr &e : derived) {
    if (e.constant_term() != 0 || e.terms().size() != 1) continue;
    const SymExpr::Term &t = e.terms()[0];
    std::vector<std::string> factors;
    if (t.coefficient != 1) factors.push_back(fmt::format("{}", t.coefficient));
    for (size_t k = 0; k < t.powers.size(); ++k)
      for (int p = 0; p < t.powers[k]; ++p) factors.push_back(fmt::format("s{}", k));
    if (t.coefficient > 0 && (e.symbols() >> witnesses.size()) == 0)
      products.emplace_back(e.evaluate(witnesses), fmt::format("{}", fmt::join(factors, "*")));
  }
  auto part_of_number = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '%';
  };
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    // A range `0..n` in kernel IR holds two numbers.
    const bool after_range = i >= 2 && text.substr(i - 2, 2) == "..";
    const bool starts = std::isdigit(static_cast<unsigned char>(text[i])) &&
                        (i == 0 || after_range || !part_of_number(text[i - 1]));
    if (!starts) {
      out += text[i++];
      continue;
    }
    size_t j = i;
    while (j < text.size() && part_of_number(text[j]) && text.substr(j, 2) != "..") ++j;
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + j, v);
    int symbol = -1;
    int64_t factor = 1;
    if (ec == std::errc() && end == text.data() + j)
      for (size_t k = 0; k < witnesses.size() && symbol < 0; ++k)
        if (v == witnesses[k] ||
            (multiples && v > 0 && v % witnesses[k] == 0 && v / witnesses[k] < witnesses[0])) {
          symbol = static_cast<int>(k);
          factor = v / witnesses[k];
        }
    auto product = std::find_if(products.begin(), products.end(),
                                [&](const auto &p) { return ec == std::errc() && p.first == v; });
    if (symbol < 0 && product != products.end())
      out += product->second;
    else if (symbol < 0)
      out += text.substr(i, j - i);
    else
      out += factor == 1 ? fmt::format("s{}", symbol) : fmt::format("{}*s{}", factor, symbol);
    i = j;
  }
  return out;
}

}  // namespace kiln::ir
