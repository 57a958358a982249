// The IR text form: print → parse → print is the identity for every op, attribute kind and
// signature shape, and every parser and verifier message is asserted in full.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "ir/diag.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verify.h"

namespace kiln::ir {
namespace {

TensorType f32(Shape shape) { return {DType::F32, std::move(shape)}; }
TensorType i64(Shape shape) { return {DType::I64, std::move(shape)}; }
TensorType boolean(Shape shape) { return {DType::Bool, std::move(shape)}; }

// One valid instance of each op: operand types and attributes. Every row of ir/ops.def
// needs an entry; the round-trip test fails naming any op that has none.
struct OpCase {
  OpKind op;
  std::vector<TensorType> operands;
  Attrs attrs;
};

std::vector<OpCase> op_cases() {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<OpCase> cases = {
      {OpKind::Full, {}, {{"shape", Shape{2, 3}}, {"value", 0.5}}},
      {OpKind::Arange,
       {},
       {{"shape", Shape{4}}, {"dtype", DType::I64}, {"start", int64_t{1}}, {"step", int64_t{2}}}},
      {OpKind::Linspace, {}, {{"shape", Shape{5}}, {"start", 0.0}, {"end", 1.0}}},
      {OpKind::Eye, {}, {{"shape", Shape{3, 3}}, {"dtype", DType::F64}}},
      {OpKind::Rand, {}, {{"shape", Shape{2}}, {"seed", int64_t{7}}, {"offset", int64_t{0}}}},
      {OpKind::Randn, {}, {{"shape", Shape{2, 2}}, {"seed", int64_t{1}}, {"offset", int64_t{4}}}},
      {OpKind::Randint,
       {},
       {{"shape", Shape{4}},
        {"dtype", DType::I32},
        {"low", int64_t{-3}},
        {"high", int64_t{5}},
        {"seed", int64_t{2}}}},
      {OpKind::Gelu, {f32({2, 3})}, {{"approximate", true}}},
      {OpKind::Sign, {i64({2, 3})}, {}},
      {OpKind::LogicalNot, {boolean({4})}, {}},
      {OpKind::Convert, {f32({2, 3})}, {{"dtype", DType::I64}}},
      {OpKind::Clamp, {f32({2, 3})}, {{"min", -inf}, {"max", int64_t{6}}}},
      {OpKind::Mul, {i64({2, 3}), i64({2, 3})}, {}},
      {OpKind::LogicalAnd, {boolean({2, 3}), boolean({2, 3})}, {}},
      {OpKind::LogicalOr, {boolean({2, 3}), boolean({2, 3})}, {}},
      {OpKind::Where, {boolean({2, 3}), f32({2, 3}), f32({2, 3})}, {}},
      {OpKind::Sum, {f32({2, 3})}, {{"dims", Shape{1}}, {"keepdim", true}}},
      {OpKind::Mean, {f32({2, 3})}, {{"dims", Shape{0}}}},
      {OpKind::Max, {f32({2, 3})}, {{"dims", Shape{-1}}}},
      {OpKind::Min, {f32({2, 3})}, {}},
      {OpKind::Prod, {i64({2, 3})}, {{"dims", Shape{}}}},
      {OpKind::Argmax, {f32({2, 3})}, {{"dims", Shape{1}}}},
      {OpKind::Argmin, {f32({2, 3})}, {{"dims", Shape{0}}, {"keepdim", true}}},
      {OpKind::Var, {f32({2, 3})}, {{"dims", Shape{1}}, {"correction", int64_t{0}}}},
      {OpKind::Std, {f32({2, 3})}, {{"dims", Shape{0, 1}}}},
      {OpKind::All, {boolean({2, 3})}, {{"dims", Shape{1}}}},
      {OpKind::Any, {boolean({2, 3})}, {}},
      {OpKind::Logsumexp, {f32({2, 3})}, {{"dims", Shape{1}}}},
      {OpKind::Matmul, {f32({2, 3}), f32({3, 4})}, {}},
      {OpKind::Reshape, {f32({2, 3})}, {{"shape", Shape{3, 2}}}},
      {OpKind::Permute, {f32({2, 3})}, {{"perm", Shape{-1, 0}}}},
      {OpKind::Broadcast, {f32({3})}, {{"shape", Shape{2, 3}}}},
      {OpKind::Slice,
       {f32({4, 6})},
       {{"dim", int64_t{1}}, {"start", int64_t{1}}, {"stop", int64_t{5}}, {"step", int64_t{2}}}},
      {OpKind::Cat, {f32({2, 3}), f32({2, 1}), f32({2, 2})}, {{"dim", int64_t{-1}}}},
      {OpKind::Softmax, {f32({2, 3})}, {{"dim", int64_t{-1}}}},
      {OpKind::LogSoftmax, {f32({2, 3})}, {{"dim", int64_t{0}}}},
      {OpKind::LayerNorm, {f32({2, 3}), f32({3}), f32({3})}, {{"axes", int64_t{1}}, {"eps", 1e-5}}},
      {OpKind::RmsNorm, {f32({2, 3}), f32({3})}, {{"eps", 1e-6}}},
      {OpKind::Dropout, {f32({2, 3})}, {{"p", 0.1}, {"train", true}, {"seed", int64_t{3}}}},
      {OpKind::MseLoss, {f32({4}), f32({4})}, {{"reduction", std::string("sum")}}},
      {OpKind::CrossEntropy,
       {f32({2, 5}), i64({2})},
       {{"reduction", std::string("none")}, {"ignore_index", int64_t{-100}}}},
      {OpKind::Embedding, {f32({10, 4}), i64({2, 3})}, {}},
      {OpKind::OneHot, {i64({3})}, {{"classes", int64_t{5}}}},
  };
  for (OpKind op : {OpKind::Neg, OpKind::Abs, OpKind::Exp, OpKind::Log, OpKind::Log1p,
                    OpKind::Expm1, OpKind::Sqrt, OpKind::Rsqrt, OpKind::Sin, OpKind::Cos,
                    OpKind::Tanh, OpKind::Sigmoid, OpKind::Relu, OpKind::Silu, OpKind::Erf,
                    OpKind::Reciprocal, OpKind::Floor, OpKind::Ceil, OpKind::Round})
    cases.push_back({op, {f32({2, 3})}, {}});
  for (OpKind op :
       {OpKind::Add, OpKind::Sub, OpKind::Div, OpKind::Pow, OpKind::Maximum, OpKind::Minimum,
        OpKind::Fmod, OpKind::Eq, OpKind::Ne, OpKind::Lt, OpKind::Le, OpKind::Gt, OpKind::Ge})
    cases.push_back({op, {f32({2, 3}), f32({2, 3})}, {}});
  return cases;
}

// Each value's definition index (inputs first, then node results), so graphs built apart
// compare by structure rather than by value id.
std::vector<int32_t> definition_order(const Graph &g) {
  std::vector<int32_t> order(g.num_values(), -1);
  int32_t next = 0;
  for (ValueId v : g.inputs) order[v] = next++;
  for (const Node &n : g.nodes) order[n.result] = next++;
  return order;
}

void check_same_graph(const Graph &a, const Graph &b) {
  std::vector<int32_t> oa = definition_order(a), ob = definition_order(b);
  auto same_values = [&](const std::vector<ValueId> &va, const std::vector<ValueId> &vb) {
    if (va.size() != vb.size()) return false;
    for (size_t i = 0; i < va.size(); ++i)
      if (oa[va[i]] != ob[vb[i]] || a.type(va[i]) != b.type(vb[i])) return false;
    return true;
  };
  CHECK(a.name == b.name);
  CHECK(a.device == b.device);
  CHECK(a.scalar_guards == b.scalar_guards);
  REQUIRE(same_values(a.inputs, b.inputs));
  for (size_t i = 0; i < a.inputs.size(); ++i)
    CHECK(a.value(a.inputs[i]).name == b.value(b.inputs[i]).name);
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node &na = a.nodes[i], &nb = b.nodes[i];
    CAPTURE(i);
    CHECK(na.op == nb.op);
    CHECK(na.attrs == nb.attrs);
    CHECK(same_values(na.operands, nb.operands));
    CHECK(same_values({na.result}, {nb.result}));
  }
  CHECK(same_values(a.outputs, b.outputs));
}

// Prints g, parses the text, and checks the parsed graph prints the same and is the same.
Graph check_round_trip(const Graph &g) {
  std::string text = print(g);
  CAPTURE(text);
  Graph parsed = parse(text, "round_trip.kir");
  CHECK(print(parsed) == text);
  check_same_graph(g, parsed);
  return parsed;
}

std::string parse_error(std::string_view text) {
  try {
    (void)parse(text, "m.kir");
  } catch (const Error &e) {
    return e.what();
  }
  return "(parsed without error)";
}

std::string verify_error(const Graph &g) {
  try {
    verify(g);
  } catch (const Error &e) {
    return e.what();
  }
  return "(verified without error)";
}

// A graph with one input %x whose body (given as lines) defines the result %0.
std::string unary_graph(std::string_view input, std::string_view result, std::string_view body) {
  return fmt::format("graph @f(%x: {}) -> {}\n    where [device=cpu] {{\n{}  return %0\n}}\n",
                     input, result, body);
}

constexpr std::string_view kLinearRelu =
    "graph @linear_relu(%x: f32[32,64], %w: f32[64,128], %b: f32[128]) -> f32[32,128]\n"
    "    where [device=cpu] {\n"
    "  %0: f32[32,128] = matmul %x, %w\n"
    "  %1: f32[32,128] = broadcast[shape=[32,128]] %b\n"
    "  %2: f32[32,128] = add %0, %1\n"
    "  %3: f32[32,128] = relu %2\n"
    "  return %3\n"
    "}\n";

Graph linear_relu() {
  Graph g;
  g.name = "linear_relu";
  ValueId x = g.add_input("x", f32({32, 64}));
  ValueId w = g.add_input("w", f32({64, 128}));
  ValueId b = g.add_input("b", f32({128}));
  ValueId mm = g.add_node(OpKind::Matmul, {x, w});
  ValueId bb = g.add_node(OpKind::Broadcast, {b}, {{"shape", Shape{32, 128}}});
  ValueId sum = g.add_node(OpKind::Add, {mm, bb});
  g.outputs = {g.add_node(OpKind::Relu, {sum})};
  return g;
}

}  // namespace

TEST_SUITE("ir") {
  TEST_CASE("the printer writes the documented text form") {
    CHECK(print(linear_relu()) == kLinearRelu);
    check_round_trip(linear_relu());
  }

  TEST_CASE("every op in the table prints, parses and prints back the same") {
    const std::vector<OpCase> cases = op_cases();
    for (const OpInfo &info : kOpTable) {
      CAPTURE(info.name);
      auto it = std::find_if(cases.begin(), cases.end(),
                             [&](const OpCase &c) { return c.op == info.kind; });
      if (it == cases.end()) {
        FAIL_CHECK("no round-trip case for op '", info.name, "': add one to op_cases()");
        continue;
      }
      Graph g;
      g.name = std::string(info.name);
      std::vector<ValueId> operands;
      for (size_t i = 0; i < it->operands.size(); ++i)
        operands.push_back(g.add_input(fmt::format("a{}", i), it->operands[i]));
      g.outputs = {g.add_node(info.kind, operands, it->attrs)};
      check_round_trip(g);
    }
  }

  TEST_CASE("signatures with several, zero and repeated outputs") {
    Graph g;
    g.name = "pair";
    ValueId x = g.add_input("x", f32({4}));
    ValueId e = g.add_node(OpKind::Exp, {x});
    g.outputs = {e, g.add_node(OpKind::Sum, {e}), x};
    CHECK(print(g) ==
          "graph @pair(%x: f32[4]) -> (f32[4], f32[], f32[4])\n"
          "    where [device=cpu] {\n"
          "  %0: f32[4] = exp %x\n"
          "  %1: f32[] = sum %0\n"
          "  return %0, %1, %x\n"
          "}\n");
    check_round_trip(g);

    Graph none;
    none.name = "nothing";
    CHECK(print(none) == "graph @nothing() -> ()\n    where [device=cpu] {\n  return\n}\n");
    check_round_trip(none);
  }

  TEST_CASE("nodes without operands, devices and scalar guards") {
    Graph g;
    g.name = "ones";
    g.device = Device::cuda(1);
    g.scalar_guards = {{"alpha", "0.5"}, {"n", "3"}, {"flag", "true"}, {"eps", "-1e-05"}};
    ValueId ones = g.add_node(OpKind::Full, {}, {{"shape", Shape{2}}, {"value", 1.0}});
    ValueId ar = g.add_node(OpKind::Arange, {}, {{"shape", Shape{2}}, {"start", 0.5}});
    g.outputs = {g.add_node(OpKind::Mul, {ones, ar})};
    CHECK(print(g) ==
          "graph @ones() -> f32[2]\n"
          "    where [device=cuda:1, alpha=0.5, n=3, flag=true, eps=-1e-05] {\n"
          "  %0: f32[2] = full[shape=[2], value=1.0]\n"
          "  %1: f32[2] = arange[shape=[2], start=0.5]\n"
          "  %2: f32[2] = mul %0, %1\n"
          "  return %2\n"
          "}\n");
    check_round_trip(g);
  }

  TEST_CASE("attribute values print in their own syntax") {
    CHECK(print_attr(true) == "true");
    CHECK(print_attr(false) == "false");
    CHECK(print_attr(int64_t{-42}) == "-42");
    CHECK(print_attr(std::numeric_limits<int64_t>::min()) == "-9223372036854775808");
    CHECK(print_attr(0.1) == "0.1");
    CHECK(print_attr(1e-5) == "1e-05");
    CHECK(print_attr(1.0) == "1.0");
    CHECK(print_attr(-0.0) == "-0.0");
    CHECK(print_attr(1e20) == "1e+20");
    CHECK(print_attr(std::numeric_limits<double>::infinity()) == "inf");
    CHECK(print_attr(-std::numeric_limits<double>::infinity()) == "-inf");
    CHECK(print_attr(std::numeric_limits<double>::quiet_NaN()) == "nan");
    CHECK(print_attr(std::vector<int64_t>{1, -2, 3}) == "[1,-2,3]");
    CHECK(print_attr(std::vector<int64_t>{}) == "[]");
    CHECK(print_attr(DType::Bool) == "bool");
    CHECK(print_attr(std::string("mean")) == "\"mean\"");
    CHECK(print_attr(std::string("say \"hi\" \\ bye")) == R"("say \"hi\" \\ bye")");
  }

  TEST_CASE("doubles read back bit for bit") {
    const double values[] = {0.1,
                             1e-05,
                             1.0,
                             -0.0,
                             0.30000000000000004,
                             1e20,
                             123456789.0,
                             5e-324,
                             1.7976931348623157e308,
                             -2.5,
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity()};
    for (double d : values) {
      CAPTURE(d);
      Graph g;
      g.outputs = {g.add_node(OpKind::Full, {}, {{"shape", Shape{}}, {"value", d}})};
      Graph parsed = check_round_trip(g);
      double back = parsed.nodes[0].attrs.get_double("value");
      CHECK(std::bit_cast<uint64_t>(back) == std::bit_cast<uint64_t>(d));
    }
    Graph g;
    double nan = std::numeric_limits<double>::quiet_NaN();
    g.outputs = {g.add_node(OpKind::Full, {}, {{"shape", Shape{}}, {"value", nan}})};
    std::string text = print(g);
    CHECK(text.find("value=nan]") != std::string::npos);
    Graph parsed = parse(text);
    CHECK(std::isnan(parsed.nodes[0].attrs.get_double("value")));
    CHECK(std::holds_alternative<double>(*parsed.nodes[0].attrs.find("value")));
    CHECK(print(parsed) == text);
  }

  TEST_CASE("every attribute kind reads back as the same kind") {
    Graph g;
    ValueId x = g.add_input("x", f32({2, 3}));
    ValueId i = g.add_input("i", i64({2}));
    ValueId full = g.add_node(
        OpKind::Full, {}, {{"shape", Shape{2, 3}}, {"value", int64_t{-7}}, {"dtype", DType::F32}});
    ValueId sum = g.add_node(OpKind::Sum, {full}, {{"dims", Shape{}}, {"keepdim", false}});
    ValueId loss = g.add_node(OpKind::CrossEntropy, {x, i}, {{"reduction", std::string("sum")}});
    g.outputs = {sum, loss};
    Graph parsed = check_round_trip(g);
    const Attrs &attrs = parsed.nodes[0].attrs;
    CHECK(std::holds_alternative<int64_t>(*attrs.find("value")));
    CHECK(std::holds_alternative<DType>(*attrs.find("dtype")));
    CHECK(std::holds_alternative<bool>(*parsed.nodes[1].attrs.find("keepdim")));
    CHECK(parsed.nodes[1].attrs.get_ints("dims").empty());
    CHECK(parsed.nodes[2].attrs.get_string("reduction", "") == "sum");
  }

  TEST_CASE("the parser takes comments, odd whitespace and any value names") {
    std::string_view text =
        "# a comment before the graph\n"
        "graph   @f ( %x :f32[ 2 , 3 ],%y: f32[2,3] )->f32[2,3] where[device = cpu,k=2]{\n"
        "\t%sum : f32[2,3] = add %x ,%y   # a trailing comment\n"
        "\n"
        "  # a comment line\n"
        "  %12: f32[2,3]=clamp[ min = 0 , max=1.5 ]%sum %7: f32[2,3] = neg %12\n"
        "  return %7}\n"
        "# after the graph\n";
    CHECK(print(parse(text)) ==
          "graph @f(%x: f32[2,3], %y: f32[2,3]) -> f32[2,3]\n"
          "    where [device=cpu, k=2] {\n"
          "  %0: f32[2,3] = add %x, %y\n"
          "  %1: f32[2,3] = clamp[max=1.5, min=0] %0\n"
          "  %2: f32[2,3] = neg %1\n"
          "  return %2\n"
          "}\n");
  }

  TEST_CASE("string attributes unescape quotes and backslashes") {
    std::string text = unary_graph("f32[4]", "f32[]",
                                   R"(  %0: f32[] = mse_loss[reduction="a \"b\" \\"] %x, %x)"
                                   "\n");
    CHECK(
        parse_error(text) ==
        R"(m.kir:3:15: error: mse_loss: reduction must be 'mean', 'sum' or 'none', got 'a "b" \')");
  }

  TEST_CASE("parser errors name the line, column and what was expected") {
    auto body = [](std::string_view line) { return unary_graph("f32[4]", "f32[4]", line); };
    CHECK(parse_error("grpah @f() -> ()") == "m.kir:1:1: error: expected 'graph'");
    CHECK(parse_error("") == "m.kir:1:1: error: expected 'graph'");
    CHECK(parse_error("graph f() -> ()") == "m.kir:1:7: error: expected a graph name such as '@f'");
    CHECK(parse_error("graph @f() -> () where [device=cpu]\n  return\n}") ==
          "m.kir:2:3: error: expected '{'");
    CHECK(parse_error(body("  %0: f32[4] = relux %x\n")) ==
          "m.kir:3:16: error: unknown op 'relux'");
    CHECK(parse_error(body("  %0: f32[4] = add %x, %7\n")) ==
          "m.kir:3:24: error: use of undefined value '%7'");
    CHECK(parse_error(body("  %0: f32[4] = neg %x\n  %0: f32[4] = neg %0\n")) ==
          "m.kir:4:3: error: redefinition of value '%0'");
    CHECK(parse_error("graph @f(%x: f32[4], %x: f32[4]) -> ()\n") ==
          "m.kir:1:22: error: redefinition of value '%x'");
    CHECK(parse_error("graph @f(%0: f32[4]) -> ()") ==
          "m.kir:1:10: error: input name '%0' must start with a letter or '_'");
    CHECK(parse_error("graph @f(%x: f33[4]) -> ()") ==
          "m.kir:1:14: error: unknown dtype 'f33': expected one of bool, i32, i64, f32, f64");
    CHECK(parse_error("graph @f(%x: f32[-1]) -> ()") ==
          "m.kir:1:18: error: expected a dimension size (a non-negative integer)");
    CHECK(parse_error("graph @f(%x: [4]) -> ()") ==
          "m.kir:1:14: error: expected a type such as 'f32[2,3]'");
    CHECK(parse_error("graph @f() -> () where [device=tpu] {") ==
          "m.kir:1:32: error: unknown device 'tpu': expected cpu or cuda:N");
    CHECK(parse_error("graph @f() -> () where [cpu] {") == "m.kir:1:25: error: expected 'device'");
    CHECK(parse_error(body("  %0: f32[4] = clamp[max=foo] %x\n")) ==
          "m.kir:3:26: error: unknown attribute value 'foo': expected a number, true, false, a "
          "dtype, a \"string\" or an integer [list]");
    CHECK(parse_error(body("  %0: f32[4] = clamp[max=1, max=2] %x\n")) ==
          "m.kir:3:29: error: duplicate attribute 'max'");
    CHECK(parse_error(body("  %0: f32[4] = reshape[shape=[4,1.5]] %x\n")) ==
          "m.kir:3:33: error: expected an integer in the list");
    CHECK(parse_error(body("  %0: f32[4] = clamp[max=99999999999999999999] %x\n")) ==
          "m.kir:3:26: error: integer 99999999999999999999 does not fit in i64");
    CHECK(parse_error(body("  %0: f32[4] = clamp[max=1.5e] %x\n")) ==
          "m.kir:3:26: error: malformed number '1.5e'");
    CHECK(parse_error(body("  %0: f32[4] = clamp[max=-x] %x\n")) ==
          "m.kir:3:26: error: malformed number '-x'");
    CHECK(parse_error(body("  %0: f32[4] = mse_loss[reduction=\"sum] %x\n")) ==
          "m.kir:3:35: error: unterminated string");
    CHECK(parse_error(body("  %0: f32[4] = mse_loss[reduction=\"a\\nb\"] %x\n")) ==
          "m.kir:3:37: error: unknown escape '\\n' in string: expected \\\" or \\\\");
    CHECK(parse_error(body("  %0: f32[4] = neg $x\n")) ==
          "m.kir:3:20: error: unexpected character '$'");
    CHECK(parse_error(body("  %0: f32[4] = neg %x\n  neg %0\n")) ==
          "m.kir:4:3: error: expected an instruction or 'return'");
    CHECK(parse_error(body("  %0: f32[4] = neg %x\n") + "extra") ==
          "m.kir:6:1: error: expected end of input after '}'");
  }

  TEST_CASE("parser errors from the type rules point at the op") {
    auto graph = [](std::string_view line, std::string_view ret = "%0") {
      return fmt::format(
          "graph @f(%x: f32[4], %b: f32[2]) -> f32[4]\n"
          "    where [device=cpu] {{\n{}  return {}\n}}\n",
          line, ret);
    };
    CHECK(parse_error(graph("  %0: f32[4] = add %x, %b\n")) ==
          "m.kir:3:16: error: add: operand types differ: f32[4] and f32[2]");
    CHECK(parse_error(graph("  %0: f32[3] = neg %x\n")) ==
          "m.kir:3:16: error: neg: result type f32[3] does not match the op's type rule f32[4]");
    CHECK(parse_error(graph("  %0: f32[4] = add %x\n")) ==
          "m.kir:3:16: error: add: expected 2 operand(s), got 1");
    CHECK(parse_error(graph("  %0: f32[4] = slice[dimm=0] %x\n")) ==
          "m.kir:3:16: error: slice: unknown attribute 'dimm': expected one of dim, start, step, "
          "stop");
    CHECK(parse_error(graph("  %0: f32[4] = reshape[shape=\"4\"] %x\n")) ==
          "m.kir:3:16: error: reshape: attribute 'shape': expected an integer list, got \"4\"");
    CHECK(parse_error(graph("  %0: f32[4] = neg %x\n", "%0, %x")) ==
          "m.kir:4:3: error: return value count does not match the signature: expected 1, got 2");
    CHECK(parse_error(graph("  %0: f32[4] = neg %x\n", "%b")) ==
          "m.kir:4:10: error: type of '%b' does not match the signature: expected f32[4], got "
          "f32[2]");
  }

  TEST_CASE("verifier errors quote the instruction") {
    Graph g;
    g.name = "f";
    ValueId x = g.add_input("x", f32({4}));
    ValueId b = g.add_input("b", f32({2}));

    SUBCASE("operand types") {
      g.add_node_typed(OpKind::Add, {x, b}, {}, f32({4}));
      CHECK(verify_error(g) ==
            "@f: %0: f32[4] = add %x, %b: operand types differ: f32[4] and f32[2]");
    }
    SUBCASE("result type") {
      g.add_node_typed(OpKind::Neg, {x}, {}, f32({3}));
      CHECK(verify_error(g) ==
            "@f: %0: f32[3] = neg %x: result type f32[3] does not match the op's type rule f32[4]");
    }
    SUBCASE("arity") {
      g.add_node_typed(OpKind::Add, {x}, {}, f32({4}));
      CHECK(verify_error(g) == "@f: %0: f32[4] = add %x: expected 2 operand(s), got 1");
      g.nodes[0] = {OpKind::Cat, {}, {}, g.nodes[0].result};
      CHECK(verify_error(g) == "@f: %0: f32[4] = cat: expected at least 1 operand(s), got 0");
    }
    SUBCASE("use before definition") {
      ValueId neg = g.add_node(OpKind::Neg, {x});
      g.add_node(OpKind::Exp, {neg});
      std::swap(g.nodes[0], g.nodes[1]);
      CHECK(verify_error(g) == "@f: %0: f32[4] = exp %1: use of undefined value '%1'");
    }
    SUBCASE("a value nothing defines") {
      ValueId loose = g.new_value(f32({4}));
      g.add_node(OpKind::Neg, {loose});
      CHECK(verify_error(g) == "@f: %0: f32[4] = neg %undef2: use of undefined value '%undef2'");
      g.nodes.clear();
      g.outputs = {x, loose};
      CHECK(verify_error(g) == "@f: return %x, %undef2: use of undefined value '%undef2'");
    }
    SUBCASE("a value defined twice") {
      g.add_node(OpKind::Neg, {x});
      g.nodes.push_back(g.nodes[0]);
      CHECK(verify_error(g) == "@f: %1: f32[4] = neg %x: '%1' is already defined");
    }
    SUBCASE("attributes") {
      g.add_node_typed(OpKind::Neg, {x}, {{"dim", int64_t{0}}}, f32({4}));
      CHECK(verify_error(g) ==
            "@f: %0: f32[4] = neg[dim=0] %x: unknown attribute 'dim': neg takes no attributes");
      g.nodes[0] = {OpKind::Softmax, {x}, {{"dim", 0.5}}, g.nodes[0].result};
      CHECK(verify_error(g) ==
            "@f: %0: f32[4] = softmax[dim=0.5] %x: attribute 'dim': expected an integer, got 0.5");
    }
    SUBCASE("input names") {
      Graph h;
      h.name = "h";
      h.add_input("a", f32({1}));
      h.add_input("a", f32({1}));
      CHECK(verify_error(h) == "@h: input name 'a' is used twice");
      h.inputs = {h.add_input("", f32({1}))};
      CHECK(verify_error(h) == "@h: input 0 has no name");
      h.inputs = {h.add_input("3", f32({1}))};
      CHECK(verify_error(h) ==
            "@h: input name '3' must start with a letter or '_' and hold only letters, digits, "
            "'_' and '.'");
      h.name = "my graph";
      CHECK(verify_error(h) ==
            "graph name 'my graph' must be non-empty and hold only letters, digits, '_' and '.'");
    }
    SUBCASE("a valid graph passes") {
      g.outputs = {g.add_node(OpKind::Neg, {x})};
      CHECK(verify_error(g) == "(verified without error)");
    }
  }
}

}  // namespace kiln::ir
