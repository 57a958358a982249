// Double arguments as runtime inputs. C++ cannot watch arithmetic on a plain double, so the
// function is traced twice: at the call's values, and with each double moved to a witness
// value. Where the two graphs differ only in `full` nodes that hold a double's value in one
// and its witness in the other, the double reaches the graph only through those constants:
// each becomes a 0-d input of the graph (one per dtype), read at every call, and the guard
// checks the argument's kind, not its value. Any other difference — the function computes
// with a double, compares it, sizes something with it — keeps every double a constant
// guarded by value, and KILN_LOGS=guards says why.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>

#include "compiled_state.h"
#include "generator.h"
#include "ir/settings.h"

namespace kiln::detail {
namespace {

bool same_bits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

// A witness for row r's value v: near v, distinct per row, never v itself.
double witness_of(double v, int32_t r) {
  return v + (std::abs(v) + 1.0) * std::ldexp(1.0, -10) * static_cast<double>(r + 1);
}

// The double rows of `f` that may become runtime inputs: finite, and not among the
// parameters the options keep constant.
std::vector<int32_t> candidate_rows(const Flat &f, const CompileOptions &options) {
  std::vector<int32_t> out;
  for (size_t r = 0; r < f.descs.size(); ++r) {
    const guards::ArgDesc &d = f.descs[r];
    if (d.kind != guards::ArgDesc::Kind::Double || !std::isfinite(d.double_value)) continue;
    const int param = f.params.empty() ? static_cast<int>(r) : f.params[r];
    if (std::find(options.constant_scalars.begin(), options.constant_scalars.end(), param) !=
        options.constant_scalars.end())
      continue;
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
    const AttrValue *va = na.attrs.find("value"), *vb = nb.attrs.find("value");
    const double *da = va != nullptr ? std::get_if<double>(va) : nullptr;
    const double *db = vb != nullptr ? std::get_if<double>(vb) : nullptr;
    Attrs same = nb.attrs;
    if (da != nullptr) same.set("value", *da);
    if (na.op != OpKind::Full || da == nullptr || db == nullptr || !(same == na.attrs))
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
  const std::vector<int32_t> rows = candidate_rows(f, options);
  Traced t = trace_once(args, f, invoke, symbols, sizes);
  if (rows.empty()) return t;
  std::vector<double> value(f.descs.size()), witness(f.descs.size());
  std::vector<Arg> moved(args.begin(), args.end());
  Flat wf = f;
  for (int32_t r : rows) {
    value[r] = f.descs[r].double_value;
    witness[r] = witness_of(value[r], r);
    wf.descs[r].double_value = witness[r];
    moved[f.params.empty() ? r : f.params[r]] = witness[r];
  }
  Traced w = [&] {
    GeneratorCheckpoint keep_random_stream;  // the witness trace's draws are nobody's
    return trace_once(moved, wf, invoke, symbols, sizes);
  }();
  std::map<size_t, int32_t> uses;
  const std::string why = scalar_uses(t, w, rows, value, witness, uses);
  if (!why.empty()) {
    if (log_enabled(LogTopic::Guards)) {
      std::vector<std::string> names;
      for (int32_t r : rows) names.push_back(fmt::format("'{}'", f.names[r]));
      log_line(LogTopic::Guards,
               fmt::format("{}: double argument(s) {} stay constants, guarded by value: {}",
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
            k == 0 ? name : fmt::format("{}_{}{}", name, dtype_name(type.dtype), k > 1 ? k : 0);
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
  t.runtime_rows = rows;
  std::erase_if(t.graph.scalar_guards, [&](const ir::ScalarGuard &g) {
    return std::any_of(rows.begin(), rows.end(),
                       [&](int32_t r) { return g.name == guard_name(f.names[r]); });
  });
  return t;
}

}  // namespace kiln::detail
