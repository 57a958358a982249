// Eager replay against compile() at each backend and thread count: the same dispatch() calls
// run now and recorded, outputs compared per dtype; a graph with a float matmul runs once
// more with its matmuls as generated GEMMs. Inputs are made exactly as kiln-opt --run does.
#include "differential.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <utility>

#include "frontend/dispatch.h"
#include "frontend/generator.h"
#include "ir/pipeline.h"
#include "ir/printer.h"
#include "ir/settings.h"
#include "lowering/backend.h"
#include "lowering/compile_graph.h"
#include "lowering/cuda_nvrtc/emit_cuda.h"
#include "lowering/cuda_nvrtc/emulate.h"
#include "lowering/cuda_nvrtc/nvrtc_compile.h"
#include "shrink.h"

namespace kiln::test::fuzz {

std::vector<Tensor> make_inputs(const ir::Graph &g, uint64_t seed) {
  manual_seed(seed);
  std::vector<Tensor> inputs;
  for (ir::ValueId v : g.inputs) {
    const TensorType &t = g.type(v);
    if (is_floating(t.dtype))
      inputs.push_back(randn(t.shape, t.dtype));
    else if (t.dtype == DType::Bool)
      inputs.push_back(rand(t.shape) < 0.5);
    else
      inputs.push_back(randint(0, 10, t.shape, t.dtype));
  }
  return inputs;
}

// The generator's seed before every eager replay and compiled call of a program.
constexpr uint64_t kReplaySeed = 20261207;

std::vector<Tensor> replay(const ir::Graph &g, std::span<const Tensor> inputs) {
  std::vector<Tensor> values(static_cast<size_t>(g.num_values()));
  for (size_t i = 0; i < g.inputs.size(); ++i) values[g.inputs[i]] = inputs[i];
  std::vector<Tensor> operands;
  for (const ir::Node &n : g.nodes) {
    operands.clear();
    for (ir::ValueId v : n.operands) operands.push_back(values[v]);
    if (draws_random(n.op)) {
      // From the generator, as rand() and dropout() draw: eagerly the global stream (seeded
      // alike before every run), compiled the trace's own, placed at each call.
      Attrs attrs = n.attrs;
      const Attrs drawn = draw_random(
          numel(n.op == OpKind::Dropout ? operands[0].sizes() : g.type(n.result).shape));
      attrs.set("seed", drawn.get_int("seed")).set("offset", drawn.get_int("offset"));
      values[n.result] = dispatch(n.op, std::span<const Tensor>(operands), attrs);
      continue;
    }
    values[n.result] = dispatch(n.op, std::span<const Tensor>(operands), n.attrs);
  }
  std::vector<Tensor> outputs;
  for (ir::ValueId v : g.outputs) outputs.push_back(values[v]);
  return outputs;
}

Tolerance tolerance(DType dtype) {
  if (dtype == DType::F32) return {1e-4, 1e-4};
  if (dtype == DType::F64) return {1e-9, 1e-9};
  return {0, 0};
}

std::string mismatch(const Tensor &got, const Tensor &want, Tolerance tol) {
  if (got.dtype() != want.dtype())
    return fmt::format("dtype: expected {}, got {}", dtype_name(want.dtype()),
                       dtype_name(got.dtype()));
  if (got.sizes() != want.sizes())
    return fmt::format("shape: expected {}, got {}", format_shape(want.sizes()),
                       format_shape(got.sizes()));
  if (!is_floating(want.dtype())) {
    std::vector<int64_t> g = got.tolist<int64_t>(), w = want.tolist<int64_t>();
    for (size_t i = 0; i < g.size(); ++i)
      if (g[i] != w[i]) return fmt::format("element {}: expected {}, got {}", i, w[i], g[i]);
    return "";
  }
  std::vector<double> g = got.tolist<double>(), w = want.tolist<double>();
  for (size_t i = 0; i < g.size(); ++i) {
    bool ok = std::isnan(w[i]) || std::isnan(g[i]) ? std::isnan(w[i]) && std::isnan(g[i])
              : std::isinf(w[i]) || std::isinf(g[i])
                  ? w[i] == g[i]
                  : std::abs(g[i] - w[i]) <= tol.atol + tol.rtol * std::abs(w[i]);
    if (!ok)
      return fmt::format("element {}: expected {}, got {} (atol {}, rtol {})", i, w[i], g[i],
                         tol.atol, tol.rtol);
  }
  return "";
}

namespace {

// The loosest tolerance of any float value v depends on: an f64 output computed in f32
// carries f32 rounding.
Tolerance cone_tolerance(const ir::Graph &g, ir::ValueId out) {
  std::vector<bool> in_cone(static_cast<size_t>(g.num_values()), false);
  in_cone[out] = true;
  Tolerance tol = tolerance(g.type(out).dtype);
  for (auto n = g.nodes.rbegin(); n != g.nodes.rend(); ++n) {
    if (!in_cone[n->result]) continue;
    for (ir::ValueId v : n->operands) in_cone[v] = true;
    if (g.type(n->result).dtype == DType::F32 && !n->operands.empty()) tol = tolerance(DType::F32);
  }
  return tol;
}

std::string without_small_matmul(std::string_view pipeline) {
  std::string out;
  for (size_t at = 0; at <= pipeline.size();) {
    const size_t comma = std::min(pipeline.find(',', at), pipeline.size());
    const std::string_view pass = pipeline.substr(at, comma - at);
    if (pass != "small-matmul") out += (out.empty() ? "" : ",") + std::string(pass);
    at = comma + 1;
  }
  return out;
}

}  // namespace

std::string artifact_round_trip(const ir::Graph &g, std::span<const runtime::Array> inputs) {
  if (!lower::backend(lower::BackendKind::Cpu).available) return "";
  const lower::Artifact direct =
      lower::compile_graph(g, lower::current_target(), lower::Choices{}).artifact;
  const std::string bytes = lower::serialize(direct);
  const lower::Artifact loaded = lower::deserialize(bytes);
  if (loaded.key != direct.key || lower::serialize(loaded) != bytes)
    return "artifact: the bytes read back differ from what was written";
  std::vector<const runtime::Array *> pointers;
  for (const runtime::Array &a : inputs) pointers.push_back(&a);
  const std::vector<runtime::Array> want = lower::load(direct)->run(pointers);
  const std::vector<runtime::Array> got = lower::load(loaded)->run(pointers);
  // The outputs' bytes in element order, whatever their layout.
  auto bytes_of = [](const runtime::Array &a) {
    const Tensor t =
        Tensor(std::make_shared<detail::TensorImpl>(detail::TensorImpl{a, nullptr, -1}))
            .contiguous();
    const runtime::Array &c = t.impl();
    const size_t size = dtype_size(c.dtype);
    return std::string(reinterpret_cast<const char *>(c.storage.data()) + c.layout.offset * size,
                       static_cast<size_t>(numel(c.layout.sizes)) * size);
  };
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i].type() != got[i].type() || bytes_of(want[i]) != bytes_of(got[i]))
      return fmt::format(
          "artifact: output {} of the reloaded artifact differs from the direct "
          "load's",
          i);
  return "";
}

namespace {

// compile() rewrites the fuzzer's small matmuls into plain kernels; this runs the graph's
// float matmuls through the generated GEMM instead (the pipeline without small-matmul).
std::string gemm_check(const ir::Graph &g, const std::vector<Tensor> &inputs,
                       const std::vector<Tensor> &want) {
  const bool has_matmul = std::any_of(g.nodes.begin(), g.nodes.end(), [&](const ir::Node &n) {
    return n.op == OpKind::Matmul && is_floating(g.type(n.result).dtype);
  });
  if (!has_matmul || !lower::backend(lower::BackendKind::Cpu).available) return "";
  ir::Graph optimised = g;
  std::vector<const runtime::Array *> arrays;
  for (const Tensor &t : inputs) arrays.push_back(&t.impl());
  std::vector<runtime::Array> got;
  try {
    ir::run_pipeline(optimised, without_small_matmul(ir::default_pipeline()));
    const lower::CompiledGraph c =
        lower::compile_graph(optimised, lower::current_target(), lower::Choices{});
    got = lower::load(c.artifact)->run(arrays);
  } catch (const Error &e) {
    return fmt::format("generated GEMM threw: {}", e.what());
  }
  for (size_t i = 0; i < got.size(); ++i) {
    Tensor t(std::make_shared<detail::TensorImpl>(detail::TensorImpl{got[i], nullptr, -1}));
    if (std::string m = mismatch(t, want[i], cone_tolerance(g, g.outputs[i])); !m.empty())
      return fmt::format("output {} (generated GEMM, no small-matmul rewrite): {}", i, m);
  }
  return "";
}

// For one check: the verifier on, the pool size restored after, and kiln's warnings kept
// (a compile that hits an internal error warns once and runs eagerly: a finding all the
// same); other log lines still go to stderr.
class CheckScope {
 public:
  CheckScope() : verify_(verify_passes()), threads_(num_threads()) {
    set_verify_passes(true);
    set_log_sink([this](std::string_view topic, std::string_view line) {
      if (topic == "warning") {
        std::lock_guard lock(mutex_);
        warnings_ += fmt::format("{}\n", line);
        return;
      }
      fmt::print(stderr, "[kiln:{}] {}\n", topic, line);
    });
  }
  ~CheckScope() {
    set_log_sink({});
    set_verify_passes(verify_);
    set_num_threads(threads_);
  }
  CheckScope(const CheckScope &) = delete;
  CheckScope &operator=(const CheckScope &) = delete;

  // The warnings since the last call.
  std::string take_warnings() {
    std::lock_guard lock(mutex_);
    return std::exchange(warnings_, {});
  }

 private:
  bool verify_;
  int threads_;
  std::mutex mutex_;
  std::string warnings_;
};

std::string_view backend_name(Backend b) {
  switch (b) {
    case Backend::Cpu: return "cpu";
    case Backend::Cuda: return "cuda";
    case Backend::Reference: return "reference";
    case Backend::Eager: return "eager";
  }
  return "?";
}

// The optimised graph's kernels as CUDA C (lowering/cuda_nvrtc), built by NVRTC for sm_80
// where the toolkit is and emulated on the CPU, against eager's outputs. Graphs with a GEMM
// kernel are left out (the CUDA lowering does not drive cuBLAS yet).
std::string cuda_emulation_check(const ir::Graph &optimised, const std::vector<Tensor> &inputs,
                                 const std::vector<Tensor> &want, std::span<const Tolerance> tols) {
  const lower::CompiledGraph c =
      lower::compile_graph(optimised, lower::current_target(), {}, {.codegen = false});
  const std::vector<lower::Kernel> kernels = lower::distinct_kernels(c);
  if (kernels.empty()) return "";
  for (const lower::Kernel &k : kernels)
    if (!lower::cuda::why_not_emitted(k).empty()) return "";
  std::vector<std::string> symbols;
  for (const lower::ArtifactKernel &k : c.artifact.kernels) symbols.push_back(k.symbol);
  const std::string source = lower::cuda::emit_cuda(kernels, symbols);
  try {
    if (lower::cuda::nvrtc_available())
      (void)lower::cuda::compile_for_device(source, "sm_80", false);
    const runtime::Program program(c.artifact.plan, lower::cuda::load_emulated(source, symbols));
    std::vector<runtime::Array> arrays;
    for (const Tensor &t : inputs) arrays.push_back(t.impl());
    std::vector<const runtime::Array *> pointers;
    for (const runtime::Array &a : arrays) pointers.push_back(&a);
    const std::vector<runtime::Array> got = program.run(pointers);
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
      const Tensor t(std::make_shared<detail::TensorImpl>(detail::TensorImpl{got[i], nullptr, -1}));
      if (std::string m = mismatch(t, want[i], tols[i]); !m.empty())
        return fmt::format("output {} (CUDA C, emulated): {}", i, m);
    }
  } catch (const Error &e) {
    return fmt::format("CUDA C (emulated) threw: {}", e.what());
  }
  return "";
}

// The inputs with every dim of size >= 2 grown by 3 (so dims of equal size stay equal),
// the new places holding copies of the first ones: values stay in the ranges the program
// was made for (indices, masks).
std::vector<Tensor> grown(const std::vector<Tensor> &inputs) {
  std::vector<Tensor> out;
  for (Tensor x : inputs) {
    for (int64_t d = 0; d < x.dim(); ++d) {
      const int64_t n = x.sizes()[static_cast<size_t>(d)];
      if (n < 2) continue;
      Tensor more = narrow(x, d, 0, std::min<int64_t>(n, 3));
      if (n < 3) more = cat({more, narrow(x, d, 0, 1)}, d);
      x = cat({x, more}, d);
    }
    out.push_back(x);
  }
  return out;
}

// compile() of fn at one backend, static then with every dim a symbol where the graph
// allows (the witness traces, the kernel check and a resized program at the inputs' own
// sizes); each entry called twice. The dynamic one is then called at other sizes too,
// where the program runs eagerly at those sizes: symbolic kernels at sizes they were not
// traced at.
std::string compiled_check(const Program &fn, const std::vector<Tensor> &inputs,
                           const std::vector<Tensor> &want, std::span<const Tolerance> tols,
                           Backend backend, int threads, CheckScope &scope) {
  (void)scope.take_warnings();
  for (Dynamic dynamic : {Dynamic::Off, Dynamic::On}) {
    const std::string where =
        fmt::format("{}, {} thread{}{}", backend_name(backend), threads, threads == 1 ? "" : "s",
                    dynamic == Dynamic::On ? ", dynamic on" : "");
    auto compiled =
        compile(fn, {.name = "fuzz", .arg_names = {"x"}, .backend = backend, .dynamic = dynamic});
    for (int call = 0; call < 2; ++call) {
      std::vector<Tensor> got;
      try {
        manual_seed(kReplaySeed);  // the random ops draw what the eager replay drew
        got = compiled(inputs);
      } catch (const Error &e) {
        return fmt::format("compiled call {} ({}) threw: {}", call, where, e.what());
      }
      if (std::string w = scope.take_warnings(); w.find("internal error") != std::string::npos)
        return fmt::format("compiled call {} ({}) ran eagerly after an internal error: {}", call,
                           where, w);
      if (got.size() != want.size())
        return fmt::format("compiled call {} ({}) returned {} outputs, expected {}", call, where,
                           got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        if (std::string m = mismatch(got[i], want[i], tols[i]); !m.empty())
          return fmt::format("output {} (compiled call {}, {}): {}", i, call, where, m);
    }
    if (dynamic != Dynamic::On) continue;
    const std::vector<Tensor> other = grown(inputs);
    std::vector<Tensor> want_other, got;
    try {
      manual_seed(kReplaySeed);
      want_other = fn(other);
    } catch (const Error &) {
      continue;  // the program is made for its sizes
    }
    try {
      manual_seed(kReplaySeed);
      got = compiled(other);
    } catch (const Error &e) {
      return fmt::format("compiled call at grown sizes ({}) threw: {}", where, e.what());
    }
    if (std::string w = scope.take_warnings(); w.find("internal error") != std::string::npos)
      return fmt::format(
          "compiled call at grown sizes ({}) ran eagerly after an internal error: {}", where, w);
    if (got.size() != want_other.size())
      return fmt::format("compiled call at grown sizes ({}) returned {} outputs, expected {}",
                         where, got.size(), want_other.size());
    for (size_t i = 0; i < got.size(); ++i)
      if (std::string m = mismatch(got[i], want_other[i], tols[i]); !m.empty())
        return fmt::format("output {} (compiled call at grown sizes, {}): {}", i, where, m);
  }
  return "";
}

}  // namespace

std::string_view failure_kind(std::string_view what) {
  if (what.find("internal error") != std::string_view::npos) return "internal error";
  if (what.starts_with("eager replay threw")) return "eager throws";
  if (what.find("threw") != std::string_view::npos) return "compiled throws";
  return "mismatch";
}

std::string check_program(const Program &fn, const std::vector<Tensor> &inputs,
                          std::span<const Tolerance> tols, const CheckOptions &options,
                          const ExtraCheck &extra) {
  CheckScope scope;
  std::vector<Tensor> want;
  for (int threads : options.threads) {
    set_num_threads(threads);
    std::vector<Tensor> got;
    try {
      manual_seed(kReplaySeed);
      got = fn(inputs);
    } catch (const Error &e) {
      return fmt::format("eager replay threw: {}", e.what());
    }
    if (want.empty()) {
      want = std::move(got);
      continue;
    }
    for (size_t i = 0; i < got.size(); ++i)
      if (std::string m = mismatch(got[i], want[i], tols[i]); !m.empty())
        return fmt::format("output {} (eager at {} threads, against eager at {}): {}", i, threads,
                           options.threads.front(), m);
  }
  for (int threads : options.threads) {
    set_num_threads(threads);
    for (Backend backend : options.backends) {
      if (std::string m = compiled_check(fn, inputs, want, tols, backend, threads, scope);
          !m.empty())
        return m;
      if (backend != Backend::Cpu || !extra) continue;
      if (std::string m = extra(want); !m.empty())
        return fmt::format("{} ({} threads)", m, threads);
    }
  }
  return "";
}

// The graph with each random op's seed and offset where the replay draws it after
// manual_seed(kReplaySeed): for the checks that run the IR itself.
ir::Graph placed_as_replayed(const ir::Graph &g) {
  ir::Graph out = g;
  int64_t offset = 0;
  for (ir::Node &n : out.nodes)
    if (draws_random(n.op)) {
      n.attrs.set("seed", static_cast<int64_t>(kReplaySeed)).set("offset", offset);
      offset +=
          numel(n.op == OpKind::Dropout ? out.type(n.operands[0]).shape : out.type(n.result).shape);
    }
  return out;
}

namespace {

// g's outputs, then the gradients of a weighted sum of its float outputs with respect to
// each float input (autograd through every op the replay dispatches; compiled, the backward
// is traced into the same graph).
std::vector<Tensor> replay_with_gradients(const ir::Graph &g, std::vector<Tensor> xs) {
  std::vector<Tensor> leaves;
  for (Tensor &x : xs)
    if (is_floating(x.dtype())) {
      x = x.detach();
      x.requires_grad_();
      leaves.push_back(x);
    }
  std::vector<Tensor> outs = replay(g, xs);
  Tensor loss;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!outs[i].requires_grad()) continue;
    const Tensor term = sum(outs[i].to(DType::F64)) * (0.5 + 0.25 * static_cast<double>(i));
    loss = loss.defined() ? loss + term : term;
  }
  std::vector<Tensor> result;
  for (const Tensor &o : outs) result.push_back(o.detach());
  if (!loss.defined()) return result;
  for (const Tensor &gr : grad({loss}, leaves, {}, false, /*allow_unused=*/true))
    result.push_back(gr);
  return result;
}

}  // namespace

std::string differential_check(const ir::Graph &replayed, uint64_t seed,
                               const CheckOptions &options) {
  const ir::Graph g = placed_as_replayed(replayed);
  const std::vector<Tensor> inputs = make_inputs(g, seed);
  std::vector<Tolerance> tols;
  for (ir::ValueId out : g.outputs) tols.push_back(cone_tolerance(g, out));
  // std's gradient (x - mean) / std is unbounded where a row is constant, and a row made by
  // a broadcast is constant up to rounding, which eager and compiled round differently: no
  // gradient is right there, so programs with std are held to their values only.
  const bool has_kink = std::any_of(g.nodes.begin(), g.nodes.end(),
                                    [](const ir::Node &n) { return n.op == OpKind::Std; });
  if (options.gradients && !has_kink) {
    // Gradients add up rounding from every op between an input and the loss: f32 anywhere
    // in the graph holds them to 1e-3.
    bool any_f32 = false;
    for (ir::ValueId v = 0; v < g.num_values(); ++v)
      any_f32 = any_f32 || g.type(v).dtype == DType::F32;
    std::vector<Tolerance> grad_tols = tols;
    for (const Tensor &x : inputs)
      if (is_floating(x.dtype()))
        grad_tols.push_back(any_f32 ? Tolerance{1e-3, 1e-3} : Tolerance{1e-8, 1e-8});
    CheckOptions first = options;
    first.gradients = false;
    if (std::string m = differential_check(replayed, seed, first); !m.empty()) return m;
    std::string m = check_program(
        [&g](std::vector<Tensor> xs) { return replay_with_gradients(g, std::move(xs)); }, inputs,
        grad_tols, first);
    return m.empty() ? m : "gradients: " + m;
  }
  return check_program(
      [&g](std::vector<Tensor> xs) { return replay(g, xs); }, inputs, tols, options,
      [&, round_tripped = false](const std::vector<Tensor> &want) mutable {
        if (std::string m = gemm_check(g, inputs, want); !m.empty()) return m;
        if (round_tripped) return std::string();
        round_tripped = true;  // once per program: the bytes do not depend on the threads
        ir::Graph optimised = g;
        ir::run_pipeline(optimised, ir::default_pipeline());
        std::vector<runtime::Array> arrays;
        for (const Tensor &t : inputs) arrays.push_back(t.impl());
        try {
          if (std::string m = artifact_round_trip(optimised, arrays); !m.empty()) return m;
        } catch (const Error &e) {
          return fmt::format("artifact round trip threw: {}", e.what());
        }
        // A quarter of the programs: a host compile per program is slow.
        return seed % 4 == 0 ? cuda_emulation_check(optimised, inputs, want, tols) : std::string();
      });
}

std::string replay_commands(const ir::Graph &g, uint64_t seed) {
  const std::string_view pipeline = ir::default_pipeline();
  const bool two_threads_only =
      differential_check(g, seed, {.backends = {Backend::Cpu}, .threads = {1}}).empty() &&
      !differential_check(g, seed, {.backends = {Backend::Cpu}, .threads = {2}}).empty();
  const char *env = two_threads_only ? "KILN_NUM_THREADS=2 " : "";
  if (differential_check(g, seed, {.backends = {Backend::Reference}, .threads = {1}}).empty())
    return fmt::format(
        "replay (save the IR below as repro.kir): the optimised graph gives eager's answer in\n"
        "the reference evaluator, so the CPU backend differs from it; this prints how much:\n"
        "  {}build/tools/kiln-opt repro.kir --passes={} --check --seed={}\n",
        env, pipeline, seed);
  return fmt::format(
      "replay (save the IR below as repro.kir; the two runs should agree):\n"
      "  {}build/tools/kiln-opt repro.kir --run --seed={}\n"
      "  {}build/tools/kiln-opt repro.kir --passes={} --run --seed={}\n",
      env, seed, env, pipeline, seed);
}

std::optional<Failure> fuzz_one(uint64_t seed, const GenOptions &options) {
  ir::Graph g = generate(seed, options);
  std::string first = differential_check(g, seed);
  if (first.empty()) return std::nullopt;
  Failure f{.seed = seed, .what = first, .reduced = {}, .report = {}};
  f.reduced = shrink(g, [&](const ir::Graph &c) {
    std::string what = differential_check(c, seed);
    return !what.empty() && failure_kind(what) == failure_kind(first);
  });
  f.what = differential_check(f.reduced, seed);
  f.report = fmt::format(
      "seed {}: eager and compiled differ: {}\n"
      "reduced from {} to {} instruction(s); the reduced program: {}\n{}{}",
      seed, first, g.nodes.size(), f.reduced.nodes.size(), f.what, replay_commands(f.reduced, seed),
      ir::print(f.reduced));
  return f;
}

}  // namespace kiln::test::fuzz
