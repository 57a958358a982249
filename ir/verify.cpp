// The verifier: checks a Graph's SSA order, names, op arity, attribute kinds and recorded
// types against the type rules, quoting the failing instruction in the IR text form.
#include "ir/verify.h"

#include <algorithm>
#include <limits>
#include <set>

#include "ir/diag.h"
#include "ir/infer.h"
#include "ir/printer.h"

namespace kiln::ir {

namespace {

// Attribute kinds. Number is an int or a double (Attrs::get_double reads both); Scalar is a
// number or a bool (a fill value).
enum class Kind : uint8_t { Bool, Int, Number, Scalar, Ints, DType, String };

struct AttrRule {
  std::string_view key;
  Kind kind;
};

using Rules = std::span<const AttrRule>;

// The attributes each op accepts, as listed in ir/ops.def, each list sorted by key.
constexpr AttrRule kFull[] = {
    {"dtype", Kind::DType}, {"shape", Kind::Ints}, {"value", Kind::Scalar}};
constexpr AttrRule kArange[] = {
    {"dtype", Kind::DType}, {"shape", Kind::Ints}, {"start", Kind::Number}, {"step", Kind::Number}};
constexpr AttrRule kLinspace[] = {
    {"dtype", Kind::DType}, {"end", Kind::Number}, {"shape", Kind::Ints}, {"start", Kind::Number}};
constexpr AttrRule kEye[] = {{"dtype", Kind::DType}, {"shape", Kind::Ints}};
constexpr AttrRule kRandom[] = {
    {"dtype", Kind::DType}, {"offset", Kind::Int}, {"seed", Kind::Int}, {"shape", Kind::Ints}};
constexpr AttrRule kRandint[] = {{"dtype", Kind::DType}, {"high", Kind::Int},
                                 {"low", Kind::Int},     {"offset", Kind::Int},
                                 {"seed", Kind::Int},    {"shape", Kind::Ints}};
constexpr AttrRule kConvert[] = {{"dtype", Kind::DType}};
constexpr AttrRule kClamp[] = {{"max", Kind::Number}, {"min", Kind::Number}};
constexpr AttrRule kGelu[] = {{"approximate", Kind::Bool}};
constexpr AttrRule kReduce[] = {{"dims", Kind::Ints}, {"keepdim", Kind::Bool}};
constexpr AttrRule kVariance[] = {
    {"correction", Kind::Int}, {"dims", Kind::Ints}, {"keepdim", Kind::Bool}};
constexpr AttrRule kShape[] = {{"shape", Kind::Ints}};
constexpr AttrRule kPermute[] = {{"perm", Kind::Ints}};
constexpr AttrRule kSlice[] = {
    {"dim", Kind::Int}, {"start", Kind::Int}, {"step", Kind::Int}, {"stop", Kind::Int}};
constexpr AttrRule kDim[] = {{"dim", Kind::Int}};
constexpr AttrRule kNorm[] = {{"axes", Kind::Int}, {"eps", Kind::Number}};
constexpr AttrRule kDropout[] = {
    {"offset", Kind::Int}, {"p", Kind::Number}, {"seed", Kind::Int}, {"train", Kind::Bool}};
constexpr AttrRule kMseLoss[] = {{"reduction", Kind::String}};
constexpr AttrRule kCrossEntropy[] = {{"ignore_index", Kind::Int}, {"reduction", Kind::String}};
constexpr AttrRule kOneHot[] = {{"classes", Kind::Int}};

Rules attr_rules(OpKind op) {
  switch (op) {
    case OpKind::Full: return kFull;
    case OpKind::Arange: return kArange;
    case OpKind::Linspace: return kLinspace;
    case OpKind::Eye: return kEye;
    case OpKind::Rand:
    case OpKind::Randn: return kRandom;
    case OpKind::Randint: return kRandint;
    case OpKind::Convert: return kConvert;
    case OpKind::Clamp: return kClamp;
    case OpKind::Gelu: return kGelu;
    case OpKind::Neg:
    case OpKind::Abs:
    case OpKind::Exp:
    case OpKind::Log:
    case OpKind::Log1p:
    case OpKind::Expm1:
    case OpKind::Sqrt:
    case OpKind::Rsqrt:
    case OpKind::Sin:
    case OpKind::Cos:
    case OpKind::Tanh:
    case OpKind::Sigmoid:
    case OpKind::Relu:
    case OpKind::Silu:
    case OpKind::Erf:
    case OpKind::Reciprocal:
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round:
    case OpKind::Sign:
    case OpKind::LogicalNot:
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Div:
    case OpKind::Pow:
    case OpKind::Maximum:
    case OpKind::Minimum:
    case OpKind::Fmod:
    case OpKind::Eq:
    case OpKind::Ne:
    case OpKind::Lt:
    case OpKind::Le:
    case OpKind::Gt:
    case OpKind::Ge:
    case OpKind::LogicalAnd:
    case OpKind::LogicalOr:
    case OpKind::Where:
    case OpKind::Matmul:
    case OpKind::Embedding: return {};
    case OpKind::Sum:
    case OpKind::Mean:
    case OpKind::Max:
    case OpKind::Min:
    case OpKind::Prod:
    case OpKind::Argmax:
    case OpKind::Argmin:
    case OpKind::All:
    case OpKind::Any:
    case OpKind::Logsumexp: return kReduce;
    case OpKind::Var:
    case OpKind::Std: return kVariance;
    case OpKind::Reshape:
    case OpKind::Broadcast: return kShape;
    case OpKind::Permute: return kPermute;
    case OpKind::Slice: return kSlice;
    case OpKind::Cat:
    case OpKind::Softmax:
    case OpKind::LogSoftmax: return kDim;
    case OpKind::LayerNorm:
    case OpKind::RmsNorm: return kNorm;
    case OpKind::Dropout: return kDropout;
    case OpKind::MseLoss: return kMseLoss;
    case OpKind::CrossEntropy: return kCrossEntropy;
    case OpKind::OneHot: return kOneHot;
  }
  KILN_UNREACHABLE("bad op {}", static_cast<int>(op));
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::Bool: return "a bool";
    case Kind::Int: return "an integer";
    case Kind::Number: return "a number";
    case Kind::Scalar: return "a number or a bool";
    case Kind::Ints: return "an integer list";
    case Kind::DType: return "a dtype";
    case Kind::String: return "a string";
  }
  KILN_UNREACHABLE("bad attribute kind {}", static_cast<int>(kind));
}

bool has_kind(const AttrValue &value, Kind kind) {
  switch (kind) {
    case Kind::Bool: return std::holds_alternative<bool>(value);
    case Kind::Int: return std::holds_alternative<int64_t>(value);
    case Kind::Number:
      return std::holds_alternative<int64_t>(value) || std::holds_alternative<double>(value);
    case Kind::Scalar: return has_kind(value, Kind::Number) || has_kind(value, Kind::Bool);
    case Kind::Ints: return std::holds_alternative<std::vector<int64_t>>(value);
    case Kind::DType: return std::holds_alternative<DType>(value);
    case Kind::String: return std::holds_alternative<std::string>(value);
  }
  KILN_UNREACHABLE("bad attribute kind {}", static_cast<int>(kind));
}

std::string attr_problem(OpKind op, const Attrs &attrs) {
  Rules rules = attr_rules(op);
  for (const auto &[key, value] : attrs.items()) {
    auto rule =
        std::find_if(rules.begin(), rules.end(), [&](const AttrRule &r) { return r.key == key; });
    if (rule == rules.end() && rules.empty())
      return fmt::format("unknown attribute '{}': {} takes no attributes", key, op_name(op));
    if (rule == rules.end()) {
      std::vector<std::string_view> keys;
      for (const AttrRule &r : rules) keys.push_back(r.key);
      return fmt::format("unknown attribute '{}': expected one of {}", key, fmt::join(keys, ", "));
    }
    if (!has_kind(value, rule->kind))
      return fmt::format("attribute '{}': expected {}, got {}", key, kind_name(rule->kind),
                         print_attr(value));
  }
  return {};
}

// Every type's element count fits int64, so byte counts and loops downstream never wrap.
std::string size_problem(const TensorType &type) {
  int64_t count = 1;
  for (int64_t d : type.shape)
    if (d < 0) return fmt::format("type {} has a negative size", type.str());
  for (int64_t d : type.shape)
    if (__builtin_mul_overflow(count, d, &count))
      return fmt::format("type {} has too many elements: the count overflows a 64-bit integer",
                         type.str());
  return {};
}

std::string arity_problem(OpKind op, size_t count) {
  const OpInfo &info = op_info(op);
  int n = static_cast<int>(count);
  if (n >= info.min_arity && n <= info.max_arity) return {};
  if (info.min_arity == info.max_arity)
    return fmt::format("expected {} operand(s), got {}", info.min_arity, n);
  if (info.max_arity == std::numeric_limits<int>::max())
    return fmt::format("expected at least {} operand(s), got {}", info.min_arity, n);
  return fmt::format("expected {} to {} operands, got {}", info.min_arity, info.max_arity, n);
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

// Input names must not look like the %0, %1, … the printer gives every other value.
bool is_input_name(const std::string &name) {
  return !name.empty() && !(name[0] >= '0' && name[0] <= '9') &&
         std::all_of(name.begin(), name.end(), is_name_char);
}

void check_names(const Graph &g) {
  if (g.name.empty() || !std::all_of(g.name.begin(), g.name.end(), is_name_char))
    fail("graph name '{}' must be non-empty and hold only letters, digits, '_' and '.'", g.name);
  std::set<std::string_view> seen;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    ValueId v = g.inputs[i];
    if (v < 0 || v >= g.num_values())
      fail("@{}: input {} is value id {}, not a value", g.name, i, v);
    const std::string &name = g.value(v).name;
    if (name.empty()) fail("@{}: input {} has no name", g.name, i);
    if (!is_input_name(name))
      fail(
          "@{}: input name '{}' must start with a letter or '_' and hold only letters, "
          "digits, '_' and '.'",
          g.name, name);
    if (!seen.insert(name).second) fail("@{}: input name '{}' is used twice", g.name, name);
    if (std::string problem = size_problem(g.type(v)); !problem.empty())
      fail("@{}: input %{}: {}", g.name, name, problem);
  }
}

bool is_defined(const std::vector<bool> &defined, ValueId v) {
  return v >= 0 && static_cast<size_t>(v) < defined.size() && defined[v];
}

std::string value_ref(const std::vector<std::string> &names, ValueId v) {
  if (v < 0 || static_cast<size_t>(v) >= names.size()) return fmt::format("%undef{}", v);
  return "%" + names[v];
}

// SSA order: a node's result is new and each operand was defined on an earlier line.
std::string definition_problem(const Node &node, const std::vector<bool> &defined,
                               const std::vector<std::string> &names) {
  if (defined[node.result])
    return fmt::format("'{}' is already defined", value_ref(names, node.result));
  for (ValueId v : node.operands)
    if (!is_defined(defined, v))
      return fmt::format("use of undefined value '{}'", value_ref(names, v));
  return {};
}

}  // namespace

std::string node_problem(OpKind op, std::span<const TensorType> operands, const Attrs &attrs,
                         const TensorType &result) {
  if (std::string problem = arity_problem(op, operands.size()); !problem.empty()) return problem;
  if (std::string problem = size_problem(result); !problem.empty()) return problem;
  if (std::string problem = attr_problem(op, attrs); !problem.empty()) return problem;
  TensorType rule;
  try {
    rule = infer_type(op, operands, attrs);
  } catch (const Error &e) {
    std::string_view message = e.what();
    std::string prefix = fmt::format("{}: ", op_name(op));
    if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
    return std::string(message);
  }
  if (rule == result) return {};
  return fmt::format("result type {} does not match the op's type rule {}", result.str(),
                     rule.str());
}

void verify(const Graph &g) {
  check_names(g);
  std::vector<std::string> names = print_names(g);
  std::vector<bool> defined(g.num_values(), false);
  for (ValueId v : g.inputs) defined[v] = true;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &node = g.nodes[i];
    if (node.result < 0 || node.result >= g.num_values())
      fail("@{}: instruction {} defines value id {}, not a value", g.name, i, node.result);
    std::string problem = definition_problem(node, defined, names);
    if (problem.empty()) {
      std::vector<TensorType> types;
      for (ValueId v : node.operands) types.push_back(g.type(v));
      problem = node_problem(node.op, types, node.attrs, g.type(node.result));
    }
    if (!problem.empty()) fail("@{}: {}: {}", g.name, print_node(g, node, names), problem);
    defined[node.result] = true;
  }
  for (ValueId v : g.outputs) {
    if (is_defined(defined, v)) continue;
    std::vector<std::string> refs;
    for (ValueId out : g.outputs) refs.push_back(value_ref(names, out));
    fail("@{}: return {}: use of undefined value '{}'", g.name, fmt::join(refs, ", "),
         value_ref(names, v));
  }
}

}  // namespace kiln::ir
