// compile(): the table of compiled entries behind a CompiledFunction. A call checks each
// entry's guards (under a shared lock); a miss traces the function with proxy arguments,
// optimises the graph and adds an entry (one compile at a time per function), or, past
// the recompile limit or by stance, runs the function eagerly and says why.
#include "kiln/compile.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "autograd.h"
#include "autotune/tune.h"
#include "cached_compile.h"
#include "compiled_state.h"
#include "dispatch.h"
#include "generator.h"
#include "guards/guard_set.h"
#include "ir/diag.h"
#include "ir/pipeline.h"
#include "ir/printer.h"
#include "ir/settings.h"
#include "ir/substitute_sizes.h"
#include "ir/trace.h"
#include "kiln/kiln.h"
#include "kiln/ops.h"
#include "lowering/backend.h"
#include "lowering/compile_graph.h"
#include "runtime/evaluate.h"
#include "runtime/execute.h"
#include "runtime/reference/elementwise.h"
#include "tracer/trace.h"

namespace kiln::detail {
namespace {

// `name` may be empty on the call path; an error then re-flattens with names to say which.
guards::ArgDesc describe(const Tensor &t, std::string_view fn, const std::string &name) {
  if (!t.defined()) fail("{}: tensor '{}' is undefined", fn, name);
  if (t.impl().trace != nullptr)
    fail("{}: tensor '{}' is a tracing proxy of another compiled function", fn, name);
  return {guards::ArgDesc::Kind::Tensor,
          t.dtype(),
          t.device(),
          t.sizes(),
          t.strides(),
          0,
          0.0,
          t.requires_grad()};
}

// Names are for tracing and messages; the call path (with_names=false) skips building them.
Flat flatten(std::span<const Arg> args, const CompileOptions &opt, bool with_names) {
  Flat f;
  size_t rows = 0;  // reserved up front: growing the lists was a third of a call's allocations
  for (const Arg &a : args)
    rows += 1 + (std::holds_alternative<std::vector<Tensor>>(a)
                     ? std::get<std::vector<Tensor>>(a).size()
                     : 0);
  f.descs.reserve(rows);
  f.tensors.reserve(rows);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string name = !with_names                ? std::string()
                             : i < opt.arg_names.size() ? opt.arg_names[i]
                                                        : fmt::format("arg{}", i);
    std::visit(
        [&](const auto &a) {
          using A = std::decay_t<decltype(a)>;
          guards::ArgDesc d;
          if constexpr (std::is_same_v<A, Tensor>) {
            f.descs.push_back(describe(a, opt.name, name));
            if (with_names) f.names.push_back(name);
            if (with_names) f.params.push_back(static_cast<int32_t>(i));
            f.tensors.push_back(&a);
            return;
          } else if constexpr (std::is_same_v<A, std::vector<Tensor>>) {
            d.kind = guards::ArgDesc::Kind::Int;  // the list length is guarded too
            d.int_value = static_cast<int64_t>(a.size());
            f.descs.push_back(d);
            if (with_names) f.names.push_back(name + ".size()");
            if (with_names) f.params.push_back(static_cast<int32_t>(i));
            for (size_t k = 0; k < a.size(); ++k) {
              std::string item = with_names ? fmt::format("{}[{}]", name, k) : std::string();
              f.descs.push_back(describe(a[k], opt.name, item));
              if (with_names) f.names.push_back(item);
              if (with_names) f.params.push_back(static_cast<int32_t>(i));
              f.tensors.push_back(&a[k]);
            }
            return;
          } else if constexpr (std::is_same_v<A, bool>) {
            d.kind = guards::ArgDesc::Kind::Bool;
            d.int_value = a;
          } else if constexpr (std::is_same_v<A, int64_t>) {
            d.kind = guards::ArgDesc::Kind::Int;
            d.int_value = a;
          } else {
            d.kind = guards::ArgDesc::Kind::Double;
            d.double_value = a;
          }
          f.descs.push_back(d);
          if (with_names) f.names.push_back(name);
          if (with_names) f.params.push_back(static_cast<int32_t>(i));
        },
        args[i]);
  }
  return f;
}

}  // namespace

// A name the IR text accepts: letters, digits, '_' and '.', not starting with a digit.
std::string sanitize(std::string_view name) {
  std::string out;
  for (char c : name)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
  return out;
}

// A scalar guard's name in the graph's `where` list, where names have no dots
// ("xs.size()" becomes "xs_size__"), so that the text parses back.
std::string guard_name(std::string_view name) {
  std::string out = sanitize(name);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

namespace {

// Writes one stage of one compiled entry to KILN_DUMP_DIR as <fn>.<entry>.<file>.
void dump(const std::string &fn, int entry, const std::string &file, const std::string &text) {
  const std::string dir = dump_dir();
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const auto path = std::filesystem::path(dir) / fmt::format("{}.{}.{}", sanitize(fn), entry, file);
  std::ofstream out(path);
  out << text;
  if (ec || !out) warn(fmt::format("KILN_DUMP_DIR: cannot write '{}'", path.string()));
}

// "%captured0 f32[4]": how messages name the i-th captured tensor of a traced graph (its
// captured tensors are the last inputs).
std::string captured_name(const ir::Graph &g, size_t captured, size_t i) {
  const ir::ValueId v = g.inputs[g.inputs.size() - captured + i];
  return fmt::format("%{} {}", g.value(v).name, g.type(v).str());
}

// What the trace took from outside its arguments: each captured tensor and each scalar
// constant, for explain(). Run before the passes fold constants.
std::vector<std::string> describe_captures(const ir::Graph &g, size_t captured) {
  std::vector<std::string> out;
  for (size_t i = 0; i < captured; ++i)
    out.push_back(fmt::format("tensor {}, bound to its storage at trace time",
                              captured_name(g, captured, i)));
  std::vector<std::string> scalars;
  for (const ir::Node &n : g.nodes)
    if (n.op == OpKind::Full && n.attrs.has("value")) {
      std::string text = ir::print_attr(*n.attrs.find("value"));
      if (std::find(scalars.begin(), scalars.end(), text) == scalars.end())
        scalars.push_back(std::move(text));
    }
  if (!scalars.empty())
    out.push_back(fmt::format("scalar constants: {}", fmt::join(scalars, ", ")));
  return out;
}

}  // namespace

std::string Entry::stale_reason() const {
  for (size_t i = 0; i < closure.size(); ++i) {
    const auto &[name, owner] = closure[i];
    const std::shared_ptr<const void> alive = owner.lock();
    if (!alive)
      return fmt::format(
          "captured tensor {} is no longer held by the closure that held it at trace time (its "
          "variable was reassigned or destroyed)\n  hint: pass the tensor as an argument, or "
          "update it in place",
          name);
    const bool requires_grad =
        autograd::requires_grad(*static_cast<const TensorImpl *>(alive.get()));
    if (i < closure_requires_grad.size() && requires_grad != closure_requires_grad[i])
      return fmt::format("captured tensor {} {} grad now, and {} when traced", name,
                         requires_grad ? "requires" : "does not require",
                         closure_requires_grad[i] ? "did" : "did not");
  }
  for (const Effects::Grad &g : effects.grads) {
    const std::shared_ptr<TensorImpl> t = g.tensor.lock();
    if (!g.reads_initial || !t) continue;
    const Tensor now = t->autograd ? t->autograd->grad : Tensor();
    if (now.defined() != g.initial_defined)
      return fmt::format(
          "the function reads the .grad() of a captured tensor, which was {} when "
          "traced and is {} now",
          g.initial_defined ? "defined" : "undefined", now.defined() ? "defined" : "undefined");
    if (g.read_slot >= 0) {
      const runtime::Array &then = captured[static_cast<size_t>(g.read_slot)];
      if (now.dtype() != then.dtype || now.sizes() != then.layout.sizes ||
          now.strides() != then.layout.strides)
        return fmt::format(
            "the function reads the .grad() of a captured tensor, which was {}{} when traced and "
            "is {}{} now",
            dtype_name(then.dtype), format_shape(then.layout.sizes), dtype_name(now.dtype()),
            format_shape(now.sizes()));
    }
  }
  return {};
}

namespace {

// The call's double arguments that the entry reads as 0-d inputs.
std::vector<runtime::Array> scalar_arrays(const Entry &entry, const Flat &f) {
  std::vector<runtime::Array> out;
  out.reserve(entry.scalar_inputs.size());
  for (const ScalarInput &s : entry.scalar_inputs) {
    const guards::ArgDesc &d = f.descs[s.row];
    const Scalar value =
        d.kind == guards::ArgDesc::Kind::Int ? Scalar(d.int_value) : Scalar(d.double_value);
    out.push_back(kiln::full(Shape{}, value, s.dtype).impl());
  }
  return out;
}

// The graph with its random ops placed at `draw` (the reference evaluator's form of what
// Program::run does per step).
ir::Graph placed_random(const ir::Graph &g, const runtime::RandomDraw &draw) {
  ir::Graph out = g;
  for (ir::Node &n : out.nodes)
    if (draws_random(n.op)) {
      n.attrs.set("seed", static_cast<int64_t>(draw.seed));
      n.attrs.set("offset", static_cast<int64_t>(draw.offset) + n.attrs.get_int("offset"));
    }
  return out;
}

// The .grad() arrays the function reads, in place of those it read when traced (the entry
// is not stale, so each is defined with the same dtype and layout).
void bind_grads(const Entry &entry, std::span<const runtime::Array *> captured) {
  for (const Effects::Grad &g : entry.effects.grads)
    if (const auto t = g.tensor.lock(); g.read_slot >= 0 && t && t->autograd)
      captured[static_cast<size_t>(g.read_slot)] = &t->autograd->grad.impl();
}

// The traced function's effects, from a compiled call's outputs: new values copied into
// the captured tensors it wrote in place, and the .grad() it set; `outs` keeps only what
// the function returned.
void apply_effects(const Entry &entry, std::vector<runtime::Array> &outs) {
  const Effects &effects = entry.effects;
  // An output may be a captured tensor itself (a clone the passes found to be a copy): any
  // output in memory a write-back changes gets its own copy first, so that what the function
  // returned (or another write-back reads) keeps the values it had.
  auto grad_of = [](const Effects::Grad &g) -> runtime::Array * {
    const std::shared_ptr<TensorImpl> t = g.tensor.lock();
    return t && t->autograd && t->autograd->grad.defined() ? &t->autograd->grad.impl() : nullptr;
  };
  auto written = [&](const runtime::Array &a) {
    for (const auto &[captured, _] : effects.writebacks)
      if (a.storage.same_as(entry.captured[captured].storage)) return true;
    for (const Effects::Grad &g : effects.grads)
      if (g.changes && g.reads_initial && g.initial_defined && g.output >= 0)
        if (const runtime::Array *now = grad_of(g); now && a.storage.same_as(now->storage))
          return true;
    return false;
  };
  for (runtime::Array &out : outs)
    if (written(out)) {
      runtime::Array fresh = runtime::empty_array(out.layout.sizes, out.dtype);
      runtime::copy_into(runtime::view_of(out), runtime::view_of(fresh));
      out = std::move(fresh);
    }
  for (const auto &[captured, output] : effects.writebacks) {
    const runtime::Array &dst = entry.captured[captured];
    if (numel(dst.layout.sizes) > 0)
      runtime::copy_into(runtime::view_of(outs[output]), runtime::view_of(dst));
    dst.storage.bump_version("a compiled function's in-place write");
  }
  for (const Effects::Grad &g : effects.grads) {
    const std::shared_ptr<TensorImpl> t = g.tensor.lock();
    if (!t || !g.changes) continue;
    if (!t->autograd) t->autograd = std::make_shared<AutogradMeta>();
    runtime::Array *now = grad_of(g);
    if (g.reads_initial && g.initial_defined && g.output >= 0 && now != nullptr) {
      // The function added to the .grad() it found: the sum goes into that tensor's memory.
      runtime::copy_into(runtime::view_of(outs[static_cast<size_t>(g.output)]),
                         runtime::view_of(*now));
      now->storage.bump_version("a compiled function's backward");
      continue;
    }
    Tensor grad;
    if (g.output >= 0) {
      auto impl = std::make_shared<TensorImpl>();
      static_cast<runtime::Array &>(*impl) = outs[static_cast<size_t>(g.output)];
      grad = Tensor(std::move(impl));
    }
    t->autograd->grad = std::move(grad);
  }
  outs.resize(effects.returned);
}

}  // namespace

// Runs the function on proxy arguments: each tensor becomes a graph input (with the given
// symbols' sizes in place of its own); scalars stay plain values, constants of the entry.
Traced CompiledCore::State::trace_once(std::span<const Arg> args, const Flat &f,
                                       const Invoke &invoke,
                                       std::span<const guards::SymbolicDim> symbols,
                                       std::span<const int64_t> sizes) {
  tracer::Trace trace(sanitize(options.name));
  trace.graph.device = Device::cpu();
  std::vector<Arg> proxies(args.begin(), args.end());
  std::vector<size_t> tensor_rows;
  for (size_t i = 0; i < f.descs.size(); ++i)
    if (f.descs[i].kind == guards::ArgDesc::Kind::Tensor) tensor_rows.push_back(i);
  size_t next = 0;
  std::set<std::string> used;
  auto make_proxy = [&](const Tensor &t) {
    const size_t row = tensor_rows[next++];
    if (!used.insert(sanitize(f.names[row])).second)
      fail("{}: two tensor arguments are both named '%{}' in the IR: expected unique arg_names",
           options.name, sanitize(f.names[row]));
    Shape shape = t.sizes();
    for (const guards::SymbolicDim &s : symbols)
      if (s.row == static_cast<int32_t>(row)) shape[s.dim] = sizes[s.symbol];
    ir::ValueId v = trace.graph.add_input(sanitize(f.names[row]), {t.dtype(), shape});
    auto impl = std::make_shared<TensorImpl>();
    impl->dtype = t.dtype();
    impl->layout = ir::Layout::contiguous(shape);
    impl->trace = &trace;
    impl->value = v;
    return Tensor(std::move(impl));
  };
  for (Arg &a : proxies) {
    if (auto *t = std::get_if<Tensor>(&a)) *t = make_proxy(*t);
    if (auto *ts = std::get_if<std::vector<Tensor>>(&a))
      for (Tensor &t : *ts) t = make_proxy(t);
  }
  for (size_t i = 0; i < f.descs.size(); ++i)
    if (f.descs[i].kind != guards::ArgDesc::Kind::Tensor)
      trace.graph.scalar_guards.push_back(
          {guard_name(f.names[i]), guards::format_scalar(f.descs[i])});

  // Whatever happens, the objects the trace touched get their state back: tracing ran
  // nothing, and a graph break runs the function eagerly from the state it had.
  struct Undo {
    tracer::Trace &trace;
    ~Undo() {
      for (auto it = trace.undo.rbegin(); it != trace.undo.rend(); ++it) (*it)();
    }
  } undo{trace};
  for (size_t i = 0; i < f.tensors.size(); ++i)
    if (f.tensors[i]->requires_grad())
      tracer::graph_break(
          fmt::format("argument '{}'", f.names[tensor_rows[i]]),
          "it requires grad, and a compiled function does not carry gradients back to its "
          "arguments yet; pass detach() of it, or capture it (as a model's weights are)");
  tracer::Scope scope(trace);
  std::vector<Tensor> outs = invoke(proxies);
  auto value_of = [&](const Tensor &t) {
    const TensorImpl &impl = t.impl();
    if (impl.trace == &trace && trace.stale(impl.value))
      tracer::graph_break("return",
                          "the function returns a view of a tensor that an in-place "
                          "write changed after the view was taken");
    // A result whose recorded graph a backward inside the function has used up (a training
    // step's loss) needs no history; one with a live graph would lose it.
    if (impl.trace == &trace && t.requires_grad() &&
        (!impl.autograd->grad_fn || !impl.autograd->grad_fn->released))
      tracer::graph_break(
          "return",
          "the function returns a tensor that requires grad, and a compiled call's results "
          "carry no gradient history yet; call backward() inside the function, return "
          "detach() of it, or call the function under kiln::NoGradGuard for inference");
    return impl.trace == &trace ? impl.value : trace.capture(t.impl_ptr(), impl);
  };
  for (const Tensor &out : outs) {
    if (!out.defined()) fail("{}: the function returned an undefined tensor", options.name);
    trace.graph.outputs.push_back(value_of(out));
  }
  Effects effects;
  effects.returned = trace.graph.outputs.size();
  for (const tracer::Trace::Touch &touch : trace.touched) {
    auto t = std::static_pointer_cast<TensorImpl>(touch.object);
    const Tensor grad = t->autograd ? t->autograd->grad : Tensor();
    if (grad.defined() && grad.impl().trace != nullptr && grad.impl().trace != &trace)
      fail("{}: a .grad() set while tracing is a proxy of another trace", options.name);
    Effects::Grad effect{.tensor = t,
                         .reads_initial = touch.reads_initial,
                         .initial_defined = touch.initial != nullptr};
    effect.changes = grad.defined() ? grad.impl_ptr() != touch.initial : touch.initial != nullptr;
    if (effect.changes && grad.defined()) {
      effect.output = static_cast<int64_t>(trace.graph.outputs.size());
      trace.graph.outputs.push_back(value_of(grad));
    }
    if (touch.initial) {
      const auto &initial = *static_cast<const TensorImpl *>(touch.initial.get());
      for (size_t i = 0; i < trace.captured.size(); ++i)
        if (trace.captured[i].storage.same_as(initial.storage) &&
            trace.captured[i].layout.sizes == initial.layout.sizes &&
            trace.captured[i].layout.strides == initial.layout.strides &&
            trace.captured[i].layout.offset == initial.layout.offset)
          effect.read_slot = static_cast<int64_t>(i);
    }
    effects.grads.push_back(std::move(effect));
  }
  // Last: capturing a gradient above may not add writes, but keep writes after all reads.
  for (const tracer::Trace::Write &w : trace.writes) {
    effects.writebacks.emplace_back(w.captured, trace.graph.outputs.size());
    trace.graph.outputs.push_back(w.value);
  }
  // The random ops read the trace's own stream (draw_random): offsets relative to the
  // call's first draw, which the call places (Program::run). Ops dispatched with a seed and
  // offset of their own (the fuzzer's replay) keep them: a trace that drew nothing is run
  // without a draw.
  const int64_t counters = trace.random_drawn;
  return {std::move(effects),
          std::move(trace.flag_reads),
          std::move(trace.graph),
          counters,
          std::move(trace.captured),
          trace.captured_owners(),
          {},
          {}};
}

std::shared_ptr<const Entry> CompiledCore::State::trace(std::span<const Arg> args, const Flat &f,
                                                        const Invoke &invoke) {
  const auto t0 = std::chrono::steady_clock::now();
  const int index = traces++;
  auto entry = std::make_shared<Entry>();
  entry->grad_mode = grad_enabled();
  entry->guards = guards::GuardSet::capture(f.descs, f.names, {}, f.params);
  trace::event("compile_start", {{"function", options.name}, {"entry", int64_t{index}}});
  try {
    Traced traced = trace_graph(args, f, invoke, {}, {});
    entry->random_counters = traced.random_counters;
    entry->scalar_inputs = traced.scalar_inputs;
    entry->guards = guards::GuardSet::capture(f.descs, f.names, {}, f.params, traced.runtime_rows);
    optimise(*entry, std::move(traced), index, ms_since(t0));
    if (codegen()) compile_and_load(*entry, index, compile_target(), choices);
    entry->compile_ms = ms_since(t0);
    trace::event("compile_end", {{"function", options.name},
                                 {"entry", int64_t{index}},
                                 {"trace_ms", entry->trace_ms},
                                 {"passes_ms", entry->passes_ms},
                                 {"total_ms", entry->compile_ms},
                                 {"nodes", static_cast<int64_t>(entry->graph.nodes.size())}});
  } catch (const tracer::GraphBreak &brk) {
    entry->break_op = brk.op();
    entry->break_reason = brk.reason();
    trace::event("graph_break", {{"function", options.name},
                                 {"entry", int64_t{index}},
                                 {"op", brk.op()},
                                 {"reason", brk.reason()}});
    const std::string said = fmt::format("{}: graph break at '{}': {}; this guard set runs eagerly",
                                         options.name, brk.op(), brk.reason());
    if (log_enabled(LogTopic::Breaks)) log_line(LogTopic::Breaks, said);
    if (!options.quiet_fallback && !quiet_fallback() && !warned_break.exchange(true))
      warn(
          fmt::format("{} (said once per function; KILN_LOGS=breaks shows every break, "
                      "KILN_QUIET_FALLBACK=1 silences this)",
                      said));
    return entry;
  } catch (const InternalError &e) {
    // A bug in kiln must not cost the user a wrong answer or their process: this guard
    // set runs eagerly, and the user hears about it once per function. Tests and fuzzers
    // run strict, so that such a bug fails them instead of hiding behind eager.
    if (strict_internal_errors()) throw;
    auto fallback = std::make_shared<Entry>();
    fallback->grad_mode = entry->grad_mode;
    fallback->guards = std::move(entry->guards);
    fallback->break_reason = e.what();  // no op: nothing in the user's function broke
    trace::event("fallback", {{"function", options.name},
                              {"entry", int64_t{index}},
                              {"reason", std::string_view(e.what())}});
    if (!warned_internal.exchange(true))
      warn(fmt::format("{}: kiln failed to compile this function, so it runs eagerly: {}",
                       options.name, e.what()));
    return fallback;
  }
  return entry;
}

// Passes, with their logs and dumps; a dynamic entry's text shows its symbols.
void CompiledCore::State::optimise(Entry &entry, Traced traced, int index, double trace_ms) {
  const auto passes_start = std::chrono::steady_clock::now();
  const std::vector<int64_t> witnesses =
      entry.dynamic ? entry.dynamic->witnesses : std::vector<int64_t>{};
  const std::span<const ir::SymExpr> derived =
      entry.dynamic ? std::span<const ir::SymExpr>(entry.dynamic->derived)
                    : std::span<const ir::SymExpr>();
  auto text = [&](const ir::Graph &g) {
    return ir::symbolize_text(ir::print(g), witnesses, false, derived);
  };
  entry.compiled = true;
  entry.effects = std::move(traced.effects);
  entry.flag_reads = std::move(traced.flag_reads);
  entry.captured = std::move(traced.captured);
  entry.graph = std::move(traced.graph);
  entry.captures = describe_captures(entry.graph, entry.captured.size());
  for (const auto &[captured, output] : entry.effects.writebacks)
    entry.captures[captured] += fmt::format(
        "; written in place by the function: each call writes output {} back into it", output);
  for (const Effects::Grad &g : entry.effects.grads) {
    const std::shared_ptr<TensorImpl> t = g.tensor.lock();
    std::string whose = "a tensor outside the graph";
    for (size_t i = 0; t && i < entry.captured.size(); ++i)
      if (entry.captured[i].storage.same_as(t->storage) &&
          entry.captured[i].layout.sizes == t->layout.sizes)
        whose = captured_name(entry.graph, entry.captured.size(), i);
    if (g.read_slot >= 0)
      entry.captures[static_cast<size_t>(g.read_slot)] = fmt::format(
          "tensor {}: the grad() of {}, bound at each call",
          captured_name(entry.graph, entry.captured.size(), static_cast<size_t>(g.read_slot)),
          whose);
    if (!g.changes) continue;
    entry.captures.push_back(
        g.output < 0 ? fmt::format("grad() of {}: cleared by each call", whose)
        : g.reads_initial && g.initial_defined
            ? fmt::format("grad() of {}: output {} written into it by each call", whose, g.output)
            : fmt::format("grad() of {}: set to output {} by each call", whose, g.output));
  }
  // The trace has ended and released its owners: those still alive are held outside.
  // A .grad() read is bound again at each call (stale_reason checks it), not held.
  auto grad_slot = [&](size_t i) {
    for (const Effects::Grad &g : entry.effects.grads)
      if (g.read_slot == static_cast<int64_t>(i)) return true;
    return false;
  };
  for (size_t i = 0; i < traced.owners.size(); ++i)
    if (auto alive = traced.owners[i].lock(); alive && !grad_slot(i)) {
      entry.closure_requires_grad.push_back(
          autograd::requires_grad(*static_cast<const TensorImpl *>(alive.get())));
      entry.closure.emplace_back(captured_name(entry.graph, entry.captured.size(), i),
                                 std::move(traced.owners[i]));
    }
  const std::string traced_text = text(entry.graph);
  auto trace_graph_text = [&](std::string_view stage, const std::string &graph_text) {
    trace::event("graph", {{"function", options.name},
                           {"entry", int64_t{index}},
                           {"stage", stage},
                           {"text", graph_text}});
  };
  if (trace::enabled()) trace_graph_text("traced", traced_text);
  if (log_enabled(LogTopic::Graph))
    log_line(LogTopic::Graph, fmt::format("{} traced:\n{}", options.name, traced_text));
  int step = 0;
  dump(options.name, index, fmt::format("{:02}-traced.kir", step++), traced_text);
  ir::run_pipeline(entry.graph, ir::default_pipeline(),
                   [&](std::string_view pass, bool changed, const ir::Graph &g) {
                     if (changed && trace::enabled()) trace_graph_text(pass, text(g));
                     if (changed)
                       dump(options.name, index, fmt::format("{:02}-{}.kir", step, pass), text(g));
                     ++step;
                   });
  if (log_enabled(LogTopic::Graph))
    log_line(LogTopic::Graph, fmt::format("{} optimised:\n{}", options.name, text(entry.graph)));
  std::string guard_text;
  for (const std::string &g : entry.guards.describe()) guard_text += g + "\n";
  if (log_enabled(LogTopic::Guards))
    log_line(LogTopic::Guards, fmt::format("{} guards:\n{}", options.name, guard_text));
  dump(options.name, index, "guards.txt", guard_text);
  entry.passes_ms = ms_since(passes_start);
  entry.trace_ms = trace_ms;
  if (trace::enabled()) {
    trace_graph_text("optimized", text(entry.graph));
    trace::event("guards",
                 {{"function", options.name}, {"entry", int64_t{index}}, {"text", guard_text}});
  }
  if (log_enabled(LogTopic::CompileTime))
    log_line(LogTopic::CompileTime,
             fmt::format("{}: trace {:.3f} ms, passes {:.3f} ms ({} nodes)", options.name, trace_ms,
                         ms_since(passes_start), entry.graph.nodes.size()));
}

// Backend::Cpu: graph → artifact → program, with their logs and dumps.
void CompiledCore::State::compile_and_load(Entry &entry, int index, const lower::Target &target,
                                           const lower::Choices &choices,
                                           std::vector<int64_t> witnesses,
                                           std::vector<lower::Kernel> symbolic_kernels) const {
  const bool dumping = !dump_dir().empty();
  const bool want_text = dumping || log_enabled(LogTopic::Kernels);
  const lower::CompileGraphOptions compile_options{.keep_text = want_text,
                                                   .witnesses = std::move(witnesses),
                                                   .symbolic_kernels = std::move(symbolic_kernels)};
  const auto t0 = std::chrono::steady_clock::now();
  // A dynamic entry is not tuned: its sizes are witnesses, not the sizes it will run at.
  const autotune::Mode mode = entry.dynamic ? autotune::Mode::Off : autotune_mode();
  std::function<lower::Choices()> tune;
  if (mode != autotune::Mode::Off)
    tune = [&, mode] {
      const autotune::Result r =
          autotune::tune(entry.graph, target, choices,
                         {.mode = mode, .name = options.name, .cache = process_cache().get()});
      if (log_enabled(LogTopic::Autotune) && !r.kernels.empty())
        log_line(LogTopic::Autotune, autotune::describe(r, options.name));
      if (trace::enabled() && !r.kernels.empty())
        trace::event("autotune", {{"function", options.name},
                                  {"entry", int64_t{index}},
                                  {"search_ms", r.ms},
                                  {"text", autotune::describe(r, options.name)}});
      return r.choices;
    };
  CachedCompile c = compile_cached(
      options.name, entry.graph, target, choices, compile_options, !want_text, tune,
      mode == autotune::Mode::Off ? "" : fmt::format("autotune={}", autotune::mode_name(mode)));
  std::shared_ptr<const runtime::Program> program;
  try {
    program = lower::load(c.artifact);
  } catch (const Error &e) {
    if (!c.from_cache) throw;
    // Bytes that passed every check and still do not link: removed from every tier (so no
    // other machine meets them), compiled again, never trusted.
    warn(fmt::format("artifact {} from {} does not load ({}); removed, compiling again",
                     c.artifact.key, c.loaded_from, e.what()));
    if (const std::shared_ptr<const cache::Store> store = process_cache())
      store->remove(cache::Kind::Artifact, c.artifact.key);
    c = compile_cached(options.name, entry.graph, target, choices, compile_options, false);
    program = lower::load(c.artifact);
  }
  const double ms = ms_since(t0);
  std::string kernels;
  if (c.compiled)
    kernels = c.compiled->kernels_text;
  else
    for (const lower::ArtifactKernel &k : c.artifact.kernels) kernels += k.kernel_ir;
  std::string fused = c.artifact.fused;
  // Kernel IR spells its symbols itself; the fused graph holds witnesses.
  if (entry.dynamic)
    fused = ir::symbolize_text(fused, entry.dynamic->witnesses, false, entry.dynamic->derived);
  if (log_enabled(LogTopic::Fused))
    log_line(LogTopic::Fused, fmt::format("{} fused:\n{}", options.name, fused));
  if (log_enabled(LogTopic::Kernels))
    log_line(LogTopic::Kernels, fmt::format("{} kernels:\n{}", options.name, kernels));
  if (log_enabled(LogTopic::CompileTime))
    log_line(LogTopic::CompileTime,
             c.compiled
                 ? fmt::format("{}: {}", options.name, c.compiled->timing)
                 : fmt::format("{}: loaded from {} in {:.3f} ms", options.name, c.loaded_from, ms));
  if (trace::enabled()) {
    trace::event("fused", {{"function", options.name}, {"entry", int64_t{index}}, {"text", fused}});
    trace::event("kernels",
                 {{"function", options.name}, {"entry", int64_t{index}}, {"text", kernels}});
    trace::event("compiled", {{"function", options.name},
                              {"entry", int64_t{index}},
                              {"origin", !c.from_cache   ? "compiled"
                                         : c.from_remote ? "remote cache"
                                                         : "disk cache"},
                              {"ms", ms},
                              {"timing", c.compiled ? c.compiled->timing : std::string()},
                              {"kernels", static_cast<int64_t>(c.artifact.kernels.size())},
                              {"artifact", c.artifact.key}});
  }
  dump(options.name, index, "fused.txt", fused);
  dump(options.name, index, "kernels.txt", kernels);
  dump(options.name, index, "target.txt", target.text());
  dump(options.name, index, "choices.txt", choices.text());
  if (c.compiled) {
    dump(options.name, index, "llvm.ll", c.compiled->source);
    dump(options.name, index, "llvm-opt.ll", c.compiled->optimized);
    dump(options.name, index, "asm.s", c.compiled->assembly);
  }
  entry.program = std::move(program);
  entry.fused = std::move(fused);
  entry.kernels = static_cast<int>(std::count_if(
      c.artifact.plan.steps.begin(), c.artifact.plan.steps.end(),
      [](const runtime::Step &s) { return std::holds_alternative<runtime::KernelStep>(s); }));
  entry.origin = c.from_cache ? fmt::format("loaded from {} in {:.2f} ms", c.loaded_from, ms)
                              : fmt::format("compiled in {:.1f} ms", ms);
  entry.target = target.str();
  entry.choices = c.artifact.choices.summary();
  entry.key = c.artifact.key;
}

autotune::Mode CompiledCore::State::autotune_mode() const {
  const std::string env = autotune_setting();  // KILN_AUTOTUNE overrides every function's option
  if (env == "off") return autotune::Mode::Off;
  if (env == "default") return autotune::Mode::Default;
  if (env == "max") return autotune::Mode::Max;
  switch (options.autotune) {
    case AutotuneMode::Off: return autotune::Mode::Off;
    case AutotuneMode::Default: return autotune::Mode::Default;
    case AutotuneMode::Max: return autotune::Mode::Max;
  }
  return autotune::Mode::Off;
}

lower::Target CompiledCore::State::compile_target() const {
  return target ? *target : lower::current_target();
}

bool CompiledCore::State::codegen() const {
  return options.backend == Backend::Cpu && lower::backend(lower::BackendKind::Cpu).available;
}

CompiledCore::State::Hit CompiledCore::State::lookup_or_compile(std::span<const Arg> args,
                                                                const Flat &f,
                                                                const Invoke &invoke) {
  Hit hit = find(f);
  if (hit && (hit.instance || !hit.entry->dynamic)) return hit;
  std::lock_guard compile_lock(compile_mutex);
  const Flat named = f.names.size() == f.descs.size() ? f : flatten(args, options, true);
  std::string rejected;
  for (hit = find(f); hit && hit.entry->dynamic && !hit.instance; hit = find(f)) {
    if (auto instance = admit_sizes(*hit.entry, hit.bindings, args, named, invoke, rejected)) {
      hit.instance = std::move(instance);
      return hit;
    }
  }
  if (hit) return hit;  // another thread compiled it meanwhile
  size_t count;
  std::vector<std::string> stale;
  {
    // Stale entries go (with the old tensors they hold) but still count toward the limit.
    std::unique_lock lock(entries_mutex);
    std::vector<const Entry *> gone;
    for (const auto &e : entries)
      if (e->stale()) {
        gone.push_back(e.get());
        stale.push_back(e->stale_reason());
      }
    std::erase_if(entries, [&](const auto &e) {
      return std::find(gone.begin(), gone.end(), e.get()) != gone.end();
    });
    stale_entries += stale.size();
    count = entries.size() + stale_entries;
  }
  if (count > 0) {
    std::vector<std::string> reasons = miss_reasons(f);
    for (std::string &s : stale)
      if (std::find(reasons.begin(), reasons.end(), s) == reasons.end())
        reasons.insert(reasons.begin(), std::move(s));
    if (!rejected.empty()) reasons.insert(reasons.begin(), rejected);
    const std::string why = fmt::format("{}", fmt::join(reasons, "; "));
    if (options.stance == Stance::FailOnRecompile)
      fail("{}: recompiling is not allowed (stance fail_on_recompile): {}", options.name, why);
    if (options.stance == Stance::EagerOnRecompile) return {};
    if (static_cast<int>(count) >= options.recompile_limit) {
      if (!warned_limit.exchange(true)) {
        const std::string said = fmt::format(
            "{}: hit the recompile limit ({}); new guard sets run eagerly. Last reason: {}",
            options.name, options.recompile_limit, why);
        if (options.quiet_fallback || quiet_fallback()) {
          if (log_enabled(LogTopic::Recompiles)) log_line(LogTopic::Recompiles, said);
        } else {
          warn(said);
        }
        trace::event("recompile_limit", {{"function", options.name}, {"reason", why}});
      }
      return {};
    }
    if (log_enabled(LogTopic::Recompiles))
      log_line(LogTopic::Recompiles, fmt::format("recompiling {}: {}", options.name, why));
    trace::event("recompile", {{"function", options.name}, {"reason", why}});
  }
  std::shared_ptr<const Entry> entry =
      rejected.empty() ? compile_dynamic(args, named, invoke) : nullptr;
  if (!entry) entry = trace(args, named, invoke);
  {
    std::unique_lock lock(entries_mutex);
    entries.push_back(entry);
  }
  if (!entry->dynamic) return {entry, nullptr, {}};
  Hit made = find(f);
  std::string refused;
  if (made.entry == entry && !made.instance)
    made.instance = admit_sizes(*entry, made.bindings, args, named, invoke, refused);
  if (made.entry == entry && made.instance) return made;
  // The function traces differently at this call's own sizes than at the witnesses (it
  // branches on a size). An entry that refuses the sizes it was made for would never be
  // used: it goes, and these sizes get a static entry in its place.
  if (log_enabled(LogTopic::Recompiles))
    log_line(LogTopic::Recompiles,
             fmt::format("{}: dynamic shapes: {}; compiling these sizes statically", options.name,
                         refused.empty() ? "the entry does not hold" : refused));
  failed_dynamic.insert(last_dynamic);
  auto fixed = trace(args, named, invoke);
  std::unique_lock lock(entries_mutex);
  std::erase(entries, entry);
  entries.push_back(fixed);
  return {fixed, nullptr, {}};
}

CompiledCore::CompiledCore(CompileOptions options) : state_(std::make_unique<State>()) {
  if (options.backend == Backend::Cuda)
    fail(
        "{}: backend cuda cannot run yet: kiln generates CUDA C for its kernels (tested by "
        "emulation; kiln-opt --emit=cuda) but has no CUDA runtime; this machine: {}",
        options.name,
        kiln::cuda::is_available() ? fmt::format("{} CUDA device(s)", kiln::cuda::device_count())
                                   : kiln::cuda::why_unavailable());
  if (options.recompile_limit < 0)
    fail("{}: recompile_limit must be non-negative, got {}", options.name, options.recompile_limit);
  // Names become IR value names, which must be unique for the text to parse back.
  std::set<std::string> seen;
  for (size_t i = 0; i < options.arg_names.size(); ++i)
    if (!seen.insert(sanitize(options.arg_names[i])).second)
      fail("{}: arg_names[{}] '{}' names two arguments (as IR value '%{}'): expected unique names",
           options.name, i, options.arg_names[i], sanitize(options.arg_names[i]));
  static std::once_flag said;
  if (options.backend == Backend::Cpu && !lower::backend(lower::BackendKind::Cpu).available)
    std::call_once(said, [] {
      warn(
          "this kiln was built without LLVM (-Dllvm=disabled): compiled graphs run on the "
          "reference evaluator");
    });
  if (options.backend == Backend::Cpu && lower::backend(lower::BackendKind::Cpu).available) {
    if (!options.target.empty()) {
      state_->target = lower::named_target(options.target);
      if (std::string why = lower::why_cannot_run(*state_->target); !why.empty())
        fail("{}: CompileOptions::target '{}' cannot run here: {}", options.name, options.target,
             why);
    }
    try {
      state_->choices = lower::Choices::parse(options.choices);
    } catch (const Error &e) {
      fail("{}: CompileOptions::choices: {}", options.name, e.what());
    }
  }
  state_->options = std::move(options);
}

CompiledCore::~CompiledCore() = default;

std::vector<Tensor> CompiledCore::call(std::span<const Arg> args, const Invoke &invoke) {
  const CompileOptions &opt = state_->options;
  if (opt.backend == Backend::Eager || opt.stance == Stance::ForceEager) return invoke(args);
  // Called while another compiled function is being traced: trace straight through, so
  // the inner function becomes part of the outer graph (and recursion cannot deadlock).
  if (tracer::active() != nullptr) return invoke(args);
  Flat f;
  try {
    f = flatten(args, opt, false);
  } catch (const Error &) {
    f = flatten(args, opt, true);  // throws again, naming the argument
  }
  const State::Hit hit = state_->lookup_or_compile(args, f, invoke);
  const Entry *entry = hit.entry.get();
  if (!entry || !entry->compiled) return invoke(args);
  const runtime::Program *program =
      hit.instance ? hit.instance->program.get() : entry->program.get();
  const ir::Graph &graph = hit.instance ? hit.instance->graph : entry->graph;

  std::vector<runtime::Array> outs;
  // This call's place in the random stream: the counters its eager run would have drawn.
  runtime::RandomDraw draw;
  if (entry->random_counters > 0) {
    const Attrs at = draw_random(entry->random_counters);
    draw = {static_cast<uint64_t>(at.get_int("seed")), static_cast<uint64_t>(at.get_int("offset"))};
  }
  if (program) {
    std::vector<const runtime::Array *> inputs;
    inputs.reserve(f.tensors.size() + entry->captured.size());
    for (const Tensor *t : f.tensors) inputs.push_back(&t->impl());
    for (const runtime::Array &c : entry->captured) inputs.push_back(&c);
    bind_grads(*entry, std::span(inputs).subspan(f.tensors.size(), entry->captured.size()));
    const std::vector<runtime::Array> scalars = scalar_arrays(*entry, f);
    for (const runtime::Array &a : scalars) inputs.push_back(&a);
    try {
      outs = program->run(inputs, entry->random_counters > 0 ? &draw : nullptr);
    } catch (const InternalError &e) {
      // Compiled programs do not write their inputs, so running eagerly now is safe.
      if (strict_internal_errors()) throw;
      if (!state_->warned_internal.exchange(true))
        warn(fmt::format("{}: a compiled call failed, so it runs eagerly: {}", opt.name, e.what()));
      if (entry->random_counters > 0)  // the eager run draws these counters itself
        rewind_random(draw.offset, static_cast<uint64_t>(entry->random_counters));
      return invoke(args);
    }
  } else {
    std::vector<runtime::Array> inputs;
    inputs.reserve(f.tensors.size() + entry->captured.size());
    for (const Tensor *t : f.tensors) inputs.push_back(t->impl());
    inputs.insert(inputs.end(), entry->captured.begin(), entry->captured.end());
    for (const Effects::Grad &g : entry->effects.grads)
      if (const auto t = g.tensor.lock(); g.read_slot >= 0 && t && t->autograd)
        inputs[f.tensors.size() + static_cast<size_t>(g.read_slot)] = t->autograd->grad.impl();
    for (runtime::Array &a : scalar_arrays(*entry, f)) inputs.push_back(std::move(a));
    outs =
        runtime::evaluate(entry->random_counters > 0 ? placed_random(graph, draw) : graph, inputs);
  }
  if (entry->effects.any()) apply_effects(*entry, outs);
  std::vector<Tensor> result;
  result.reserve(outs.size());
  for (runtime::Array &a : outs) {
    auto impl = std::make_shared<TensorImpl>();
    static_cast<runtime::Array &>(*impl) = std::move(a);
    result.emplace_back(std::move(impl));
  }
  return result;
}

Explanation CompiledCore::explain(std::span<const Arg> args, const Invoke &invoke) {
  const CompileOptions &opt = state_->options;
  Explanation ex;
  ex.name = opt.name;
  State::Hit hit;
  if (opt.backend != Backend::Eager && opt.stance != Stance::ForceEager) {
    Flat f = flatten(args, opt, true);
    hit = state_->lookup_or_compile(args, f, invoke);
  }
  std::shared_lock lock(state_->entries_mutex);
  for (const auto &e : state_->entries) {
    Explanation::Entry out;
    out.guards = e->guards.describe();
    out.compiled = e->compiled;
    out.break_op = e->break_op;
    out.break_reason = e->break_reason;
    out.captures = e->captures;
    const std::vector<int64_t> witnesses =
        e->dynamic ? e->dynamic->witnesses : std::vector<int64_t>{};
    if (e->dynamic) {
      out.symbols = e->guards.num_symbols();
      std::shared_lock dyn_lock(e->dynamic->mutex);
      for (const auto &[sizes, instance] : e->dynamic->instances)
        out.sizes_seen += instance != nullptr;
    }
    if (e->compiled) {
      ++ex.graphs;
      out.graph = ir::symbolize_text(ir::print(e->graph), witnesses, false,
                                     e->dynamic ? std::span<const ir::SymExpr>(e->dynamic->derived)
                                                : std::span<const ir::SymExpr>());
      std::map<std::string, int> counts;
      for (const ir::Node &n : e->graph.nodes) ++counts[std::string(op_name(n.op))];
      out.op_counts.assign(counts.begin(), counts.end());
      if (const auto &built = e->program) {
        out.fused = e->fused;
        out.kernels = e->kernels;
        out.library_steps = static_cast<int>(built->plan().steps.size()) - e->kernels;
        out.target = e->target;
        out.origin = e->origin;
        out.compile_ms = e->compile_ms;
        out.choices = e->choices;
        out.key = e->key;
        // A dynamic entry's memory depends on the sizes: those of explain()'s arguments.
        const runtime::Program *program = !e->dynamic ? built.get()
                                          : hit.entry == e && hit.instance
                                              ? hit.instance->program.get()
                                              : nullptr;
        if (program) {
          out.peak_bytes = program->plan().peak_bytes();
          out.arena_bytes = program->plan().arena_bytes;
          out.unshared_bytes = program->plan().unshared_bytes;
        }
      }
    } else {
      ++ex.graph_breaks;
    }
    ex.entries.push_back(std::move(out));
  }
  return ex;
}

}  // namespace kiln::detail

namespace kiln {

std::string Explanation::str() const {
  std::string out = fmt::format("{}: {} graph(s), {} graph break(s)\n", name, graphs, graph_breaks);
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry &e = entries[i];
    out += fmt::format("entry {}: {}\n", i, e.compiled ? "compiled" : "runs eagerly");
    if (e.symbols > 0)
      out +=
          fmt::format("  dynamic: {} symbol(s), {} size(s) run so far\n", e.symbols, e.sizes_seen);
    if (!e.compiled && e.break_op.empty())
      out += fmt::format("  not compiled: {}\n", e.break_reason);
    if (!e.compiled && !e.break_op.empty())
      out += fmt::format("  graph break at '{}': {}\n", e.break_op, e.break_reason);
    out += "  guards:\n";
    for (const std::string &g : e.guards) out += "    " + g + "\n";
    if (!e.captures.empty()) out += "  captured:\n";
    for (const std::string &c : e.captures) out += "    " + c + "\n";
    if (!e.compiled) continue;
    std::vector<std::string> counts;
    for (const auto &[op, n] : e.op_counts) counts.push_back(fmt::format("{} {}", op, n));
    out += fmt::format("  ops: {}\n", fmt::join(counts, ", "));
    auto indented = [&](std::string_view text) {
      while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        out += line.empty() ? "\n" : fmt::format("    {}\n", line);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      }
    };
    out += "  graph:\n";
    indented(e.graph);
    if (e.fused.empty()) continue;
    out += fmt::format(
        "  kernels: {}; library steps: {}; peak memory per call: {} bytes (intermediates {} "
        "bytes, {} without reuse)\n",
        e.kernels, e.library_steps, e.peak_bytes, e.arena_bytes, e.unshared_bytes);
    out += fmt::format("  target: {}\n  choices: {}\n  artifact key: {} ({})\n", e.target,
                       e.choices, e.key, e.origin);
    out += "  fused:\n";
    indented(e.fused);
  }
  return out;
}

}  // namespace kiln
