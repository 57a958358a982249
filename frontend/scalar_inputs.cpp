// Scalar arguments as runtime inputs (CompileOptions::runtime_scalars). C++ cannot watch
// arithmetic on a plain number, so the function is traced twice: at the call's values, and
// with each listed scalar moved to a witness value. Where the two graphs differ only in
// `full` nodes that hold a scalar's value in one and its witness in the other, the scalar
// reaches the graph only through those constants: each becomes a 0-d input of the graph
// (one per dtype), read at every call, and the guard checks the argument's kind, not its
// value. Any other difference (the function computes with it, sizes something with it)
// keeps every listed scalar a constant guarded by value, and KILN_LOGS=guards says why. A
// branch on the value cannot be seen: that is why the list is the user's to make.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <optional>

#include "compiled_state.h"
#include "ir/diag.h"
#include "ir/settings.h"
#include "tracer/trace.h"

namespace kiln::detail {
namespace {

bool same_bits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

// A witness for row r's value v: near v, distinct per row, never v itself. An int's is an
// int far from small constants (a shape or an index written in the function).
double witness_of(const guards::ArgDesc &d, int32_t r) {
  if (d.kind == guards::ArgDesc::Kind::Int)
    return static_cast<double>(d.int_value + 1000003 + 7 * int64_t{r});
  const double v = d.double_value;
  return v + (std::abs(v) + 1.0) * std::ldexp(1.0, -10) * static_cast<double>(r + 1);
}

// The rows of `f` the options name as runtime inputs: finite doubles and ints (not a list's
// length, which is an int row of a list parameter).
std::vector<int32_t> candidate_rows(std::span<const Arg> args, const Flat &f,
                                    const CompileOptions &options) {
  std::vector<int32_t> out;
  for (size_t r = 0; r < f.descs.size(); ++r) {
    const guards::ArgDesc &d = f.descs[r];
    const size_t param = f.params.empty() ? r : static_cast<size_t>(f.params[r]);
    if (param >= args.size() || std::holds_alternative<std::vector<Tensor>>(args[param]) ||
        std::find(options.runtime_scalars.begin(), options.runtime_scalars.end(),
                  static_cast<int>(param)) == options.runtime_scalars.end())
      continue;
    if ((d.kind == guards::ArgDesc::Kind::Double && std::isfinite(d.double_value)) ||
        (d.kind == guards::ArgDesc::Kind::Int && std::abs(d.int_value) < (int64_t{1} << 40)))
      out.push_back(static_cast<int32_t>(r));
  }
  return out;
}

// The `full` nodes of `t` that carry a double (node index → row), or why the two traces
// differ otherwise ("" and the map when they differ only there).
std::string scalar_uses(const Traced &t, const Traced &w, std::span<const int32_t> rows,
                        const std::vector<double> &value, const std::vector<double> &witness,
                        std::map<size_t, int32_t> &uses) {
  const ir::Graph &a = t.graph, &b = w.graph;
  if (a.nodes.size() != b.nodes.size() || a.inputs.size() != b.inputs.size() ||
      a.outputs != b.outputs || !same_captures(t.captured, w.captured) ||
      t.random_counters != w.random_counters)
    return "the function traces a different graph for other values";
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const ir::Node &na = a.nodes[i], &nb = b.nodes[i];
    if (na.op != nb.op || na.operands != nb.operands || na.result != nb.result ||
        a.type(na.result) != b.type(nb.result))
      return "the function traces a different graph for other values";
    if (na.attrs == nb.attrs) continue;
    // A full's value: a double, or an int64 (a number in an integer tensor).
    auto number = [](const Attrs &attrs) -> std::optional<double> {
      const AttrValue *v = attrs.find("value");
      if (v == nullptr) return std::nullopt;
      if (const double *d = std::get_if<double>(v)) return *d;
      if (const int64_t *i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
      return std::nullopt;
    };
    const std::optional<double> da = number(na.attrs), db = number(nb.attrs);
    Attrs same = nb.attrs;
    if (da) same.set("value", *na.attrs.find("value"));
    if (na.op != OpKind::Full || !da || !db || !(same == na.attrs))
      return fmt::format("it computes with them before they reach a tensor op ({} differs)",
                         op_name(na.op));
    const auto row = std::find_if(rows.begin(), rows.end(), [&](int32_t r) {
      return same_bits(*da, value[r]) && same_bits(*db, witness[r]);
    });
    if (row == rows.end())
      return "it computes with them before they reach a tensor op (a constant derived from one)";
    uses[i] = *row;
  }
  return "";
}

}  // namespace

Traced CompiledCore::State::trace_graph(std::span<const Arg> args, const Flat &f,
                                        const Invoke &invoke,
                                        std::span<const guards::SymbolicDim> symbols,
                                        std::span<const int64_t> sizes) {
  const std::vector<int32_t> rows = candidate_rows(args, f, options);
  Traced t = trace_once(args, f, invoke, symbols, sizes);
  if (rows.empty()) return t;
  std::vector<double> value(f.descs.size()), witness(f.descs.size());
  std::vector<Arg> moved(args.begin(), args.end());
  Flat wf = f;
  for (int32_t r : rows) {
    guards::ArgDesc &d = wf.descs[r];
    const bool is_int = d.kind == guards::ArgDesc::Kind::Int;
    value[r] = is_int ? static_cast<double>(d.int_value) : d.double_value;
    witness[r] = witness_of(d, r);
    Arg &arg = moved[f.params.empty() ? r : f.params[r]];
    if (is_int) {
      d.int_value = static_cast<int64_t>(witness[r]);
      arg = d.int_value;
    } else {
      d.double_value = witness[r];
      arg = witness[r];
    }
  }
  std::map<size_t, int32_t> uses;
  std::string why;
  try {
    const Traced w = trace_once(moved, wf, invoke, symbols, sizes);
    why = scalar_uses(t, w, rows, value, witness, uses);
  } catch (const tracer::GraphBreak &brk) {
    why = fmt::format("at other values the trace stops at '{}'", brk.op());
  } catch (const InternalError &) {
    if (strict_internal_errors()) throw;
    why = "kiln hit an internal error tracing at other values";
  } catch (const std::exception &e) {
    const std::string_view what = e.what();
    why = fmt::format("at other values the function fails ({})", what.substr(0, what.find('\n')));
  }
  if (!why.empty()) {
    if (log_enabled(LogTopic::Guards)) {
      std::vector<std::string> names;
      for (int32_t r : rows) names.push_back(fmt::format("'{}'", f.names[r]));
      log_line(LogTopic::Guards,
               fmt::format("{}: scalar argument(s) {} stay constants, guarded by value: {}",
                           options.name, fmt::join(names, ", "), why));
    }
    return t;
  }
  // Each use becomes a broadcast of the row's 0-d input of that dtype.
  std::map<std::pair<int32_t, DType>, ir::ValueId> input_of;
  for (const auto &[index, row] : uses) {
    ir::Node &n = t.graph.nodes[index];
    const TensorType type = t.graph.type(n.result);
    auto [it, fresh] = input_of.try_emplace({row, type.dtype}, -1);
    if (fresh) {
      std::string name = sanitize(f.names[row]);
      for (int k = 0;; ++k) {  // unique among the inputs (a tensor may share the name)
        const std::string candidate =
            k == 0   ? name
            : k == 1 ? fmt::format("{}_{}", name, dtype_name(type.dtype))
                     : fmt::format("{}_{}_{}", name, dtype_name(type.dtype), k);
        bool used = false;
        for (ir::ValueId v : t.graph.inputs) used |= t.graph.value(v).name == candidate;
        if (!used) {
          name = candidate;
          break;
        }
      }
      it->second = t.graph.add_input(name, {type.dtype, Shape{}});
      t.scalar_inputs.push_back({row, type.dtype});
    }
    n.op = OpKind::Broadcast;
    n.operands = {it->second};
    n.attrs = Attrs{{"shape", type.shape}};
  }
  // A listed scalar the graph does not read stays guarded: whatever it decided in C++
  // (a size, a branch), the graph holds it as a constant nowhere to be checked.
  for (const auto &[index, row] : uses)
    if (std::find(t.runtime_rows.begin(), t.runtime_rows.end(), row) == t.runtime_rows.end())
      t.runtime_rows.push_back(row);
  std::erase_if(t.graph.scalar_guards, [&](const ir::ScalarGuard &g) {
    return std::any_of(t.runtime_rows.begin(), t.runtime_rows.end(),
                       [&](int32_t r) { return g.name == guard_name(f.names[r]); });
  });
  return t;
}

}  // namespace kiln::detail
