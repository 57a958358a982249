// Size substitution and symbolic text: witnesses print as s0, s1, …, the parser reads them
// back, and substituting a call's sizes gives the concrete graph.
#include "ir/substitute_sizes.h"

#include <doctest/doctest.h>

#include "ir/diag.h"
#include "ir/parser.h"
#include "ir/printer.h"

namespace kiln::ir {
namespace {

const std::string kSymbolic =
    "graph @f(%x: f32[s0,4], %y: f32[s1]) -> f32[s0,4,s1]\n"
    "    where [device=cpu] {\n"
    "  %0: f32[s0,4,1] = reshape[shape=[s0,4,1]] %x\n"
    "  %1: f32[s0,4,s1] = broadcast[shape=[s0,4,s1]] %0\n"
    "  %2: f32[s0,4,s1] = broadcast[shape=[s0,4,s1]] %y\n"
    "  %3: f32[s0,4,s1] = mul %1, %2\n"
    "  return %3\n"
    "}\n";

TEST_SUITE("ir") {
  TEST_CASE("symbolic sizes: parse, print as witnesses, symbolize back to the same text") {
    const Graph g = parse(kSymbolic, "f.kir");
    const std::vector<int64_t> w = witness_sizes(2, 0);
    CHECK(g.type(g.inputs[0]).shape == Shape{w[0], 4});
    CHECK(symbolize_text(print(g), w) == kSymbolic);
  }

  TEST_CASE("substitute replaces witnesses in types and attributes, and nothing else") {
    const Graph g = parse(kSymbolic, "f.kir");
    const std::vector<int64_t> w = witness_sizes(2, 0), sizes = {3, 5};
    CHECK(print(substitute(g, {w, sizes})) ==
          "graph @f(%x: f32[3,4], %y: f32[5]) -> f32[3,4,5]\n"
          "    where [device=cpu] {\n"
          "  %0: f32[3,4,1] = reshape[shape=[3,4,1]] %x\n"
          "  %1: f32[3,4,5] = broadcast[shape=[3,4,5]] %0\n"
          "  %2: f32[3,4,5] = broadcast[shape=[3,4,5]] %y\n"
          "  %3: f32[3,4,5] = mul %1, %2\n"
          "  return %3\n"
          "}\n");
  }

  TEST_CASE("symbolize_text touches whole numbers only; multiples on request") {
    const std::vector<int64_t> w = witness_sizes(1, 0);
    const std::string n = std::to_string(w[0]);
    CHECK(symbolize_text("f32[" + n + ",2] %" + n + " 1" + n + " " + n + ".5", w) ==
          "f32[s0,2] %" + n + " 1" + n + " " + n + ".5");
    CHECK(symbolize_text("0.." + std::to_string(3 * w[0]), w, true) == "0..3*s0");
    CHECK(symbolize_text("0.." + std::to_string(3 * w[0]), w) == "0.." + std::to_string(3 * w[0]));
  }

  TEST_CASE("sizes computed from symbols: products print and parse, and substitute along") {
    // A batched matmul's rows are b*h: the graph holds them as a product of symbols.
    const std::string text =
        "graph @f(%x: f32[s0,4,s1]) -> f32[4*s0,s1]\n"
        "    where [device=cpu] {\n"
        "  %0: f32[4*s0,s1] = reshape[shape=[4*s0,s1]] %x\n"
        "  %1: f32[s0*s1*4] = reshape[shape=[s0*s1*4]] %0\n"
        "  return %0\n"
        "}\n";
    const Graph g = parse(text, "f.kir");
    const std::vector<int64_t> w = witness_sizes(2, 0);
    CHECK(g.type(g.outputs[0]).shape == Shape{4 * w[0], w[1]});
    const std::vector<SymExpr> derived = {4 * SymExpr::symbol(0),
                                          4 * SymExpr::symbol(0) * SymExpr::symbol(1)};
    const std::string back = symbolize_text(print(g), w, false, derived);
    CHECK(back.find("f32[4*s0,s1] = reshape[shape=[4*s0,s1]]") != std::string::npos);
    CHECK(back.find("f32[4*s0*s1] = reshape[shape=[4*s0*s1]]") != std::string::npos);
    CHECK(parse(back, "f.kir").type(1).shape == g.type(1).shape);
    // Substituting a call's sizes maps each derived size with the symbols.
    const std::vector<int64_t> sizes = {3, 5};
    const std::vector<int64_t> from = size_values(derived, w), to = size_values(derived, sizes);
    CHECK(substitute(g, {from, to}).type(g.outputs[0]).shape == Shape{12, 5});
    CHECK_THROWS_WITH_AS(
        (void)parse("graph @f(%x: f32[4*]) -> f32[4] {\n  return %x\n}\n", "f.kir"),
        "f.kir:1:20: error: expected a dimension size (a non-negative integer)", Error);
  }

  TEST_CASE("a symbol past the limit is a located parse error") {
    CHECK_THROWS_WITH_AS(
        (void)parse("graph @f(%x: f32[s8]) -> f32[s8] {\n  return %x\n}\n", "f.kir"),
        "f.kir:1:18: error: symbol 's8': at most 8 symbols, s0 to s7", Error);
  }
}

}  // namespace
}  // namespace kiln::ir
