// The CUDA lowering without a GPU (issue 16, first part): the kernels kiln generates for a
// function, as CUDA C, compile with NVRTC to PTX for sm_80 and to a cubin for sm_90, and the
// same source, emulated on the CPU (lowering/cuda_nvrtc/emulate.h), computes what the
// reference evaluator does.
#include <doctest/doctest.h>

#include <cmath>

#include "check.h"
#include "ir/parser.h"
#include "ir/pipeline.h"
#include "ir/substitute_sizes.h"
#include "lowering/compile_graph.h"
#include "lowering/cuda_nvrtc/emit_cuda.h"
#include "lowering/cuda_nvrtc/emulate.h"
#include "lowering/cuda_nvrtc/nvrtc_compile.h"
#include "runtime/evaluate.h"
#include "runtime/resize_program.h"

namespace kiln::test {
namespace {

// What happened to one function; the test reports how many were emulated.
struct Outcome {
  bool emitted = false;
  std::string skipped;  // why not (a GEMM)
};

// Compiles fn for the CPU to find its optimised graph, lowers that graph's kernels to CUDA
// C, builds it with NVRTC where the toolkit is, and runs the emulated kernels against the
// reference evaluator (f32 to 2e-5: CUDA's math functions are not the CPU's polynomials).
template <class Fn, class... Args>
Outcome check_cuda(const std::string &name, Fn fn, Args... args) {
  CAPTURE(name);
  CompileOptions ref_options{.name = name, .backend = Backend::Reference};
  CompileOptions cpu_options{.name = name, .backend = Backend::Cpu};
  auto ref = compile(fn, ref_options);
  auto cpu = compile(fn, cpu_options);
  const Tensor want = ref(args...);
  (void)cpu(args...);
  const Explanation ex = explain(cpu, args...);
  REQUIRE(ex.entries.size() == 1);
  REQUIRE(ex.entries[0].compiled);
  const ir::Graph g = ir::parse(ex.entries[0].graph, name + ".kir");
  REQUIRE(g.inputs.size() == sizeof...(Args));  // no captured tensors: the args are the inputs
  const lower::CompiledGraph c =
      lower::compile_graph(g, lower::current_target(), {}, {.codegen = false});
  const lower::Artifact &art = c.artifact;
  const std::vector<lower::Kernel> kernels = lower::distinct_kernels(c);
  std::vector<std::string> symbols;
  for (const lower::ArtifactKernel &k : art.kernels) symbols.push_back(k.symbol);
  for (const lower::Kernel &k : kernels)
    if (std::string why = lower::cuda::why_not_emitted(k); !why.empty()) return {false, why};
  const std::string source = lower::cuda::emit_cuda(kernels, symbols);
  if (lower::cuda::nvrtc_available()) {
    const lower::cuda::DeviceCode ptx = lower::cuda::compile_for_device(source, "sm_80", false);
    CHECK(ptx.ptx.find(".entry " + symbols.front()) != std::string::npos);
    CHECK(!lower::cuda::compile_for_device(source, "sm_90", true).cubin.empty());
  }
  const runtime::Program program(art.plan, lower::cuda::load_emulated(source, symbols), name);
  std::vector<runtime::Array> inputs = {args.impl()...};
  std::vector<const runtime::Array *> pointers;
  for (const runtime::Array &a : inputs) pointers.push_back(&a);
  const std::vector<runtime::Array> got = program.run(pointers);
  REQUIRE(got.size() == 1);
  const DType dtype = want.dtype();
  const Tolerance tol = dtype == DType::F32   ? Tolerance{2e-5, 2e-5}
                        : dtype == DType::F64 ? Tolerance{1e-12, 1e-12}
                                              : Tolerance{};
  auto impl = std::make_shared<detail::TensorImpl>();
  static_cast<runtime::Array &>(*impl) = got[0];
  const std::string mismatch = compare(Tensor(impl), want, tol);
  CHECK_MESSAGE(mismatch.empty(), name, ": ", mismatch, "\nCUDA C:\n", source);
  return {true, ""};
}

TEST_SUITE("lowering") {
  TEST_CASE("CUDA C of pointwise and row kernels: NVRTC builds it, emulation equals eager") {
    const std::string nvrtc =
        lower::cuda::nvrtc_available()
            ? lower::cuda::nvrtc_version()
            : "NVRTC absent (" + lower::cuda::nvrtc_version() + "): emulation only";
    MESSAGE(nvrtc);
    manual_seed(16);
    const Tensor x = randn({37, 129}), y = randn({37, 129}), pos = rand({37, 129}) + 0.1;
    const Tensor special = make({1, 2, NAN, 3, -INFINITY, 0, INFINITY, 1}, {2, 4});
    int emitted = 0;
    std::vector<std::string> skipped;
    auto note = [&](const Outcome &o) {
      emitted += o.emitted;
      if (!o.skipped.empty()) skipped.push_back(o.skipped);
    };
    note(check_cuda(
        "unary",
        [](Tensor t) {
          return exp(t) + log1p(abs(t)) + expm1(t * 0.1) + sin(t) * cos(t) + tanh(t) + sigmoid(t) +
                 erf(t) + sqrt(abs(t)) + rsqrt(abs(t) + 1.0) + reciprocal(t * t + 1.0) + floor(t) +
                 ceil(t) + round(t * 3.0) + sign(t) + relu(t) + gelu(t) + silu(t) - t;
        },
        x));
    note(check_cuda(
        "log_pow_fmod", [](Tensor a, Tensor b) { return log(a) + pow(a, b) + fmod(b * 7.0, a); },
        pos, y));
    note(check_cuda(
        "binary_compare_where",
        [](Tensor a, Tensor b) {
          Tensor m = logical_or(logical_and(a < b, a >= -1.0), a == b);
          return where(m, maximum(a, b), minimum(a, b) / (abs(b) + 1.0)) + (a != b).to(DType::F32);
        },
        x, y));
    note(check_cuda(
        "clamp_convert",
        [](Tensor t) {
          return clamp(t, -0.5, 0.75) + (t * 1e10).to(DType::I32).to(DType::F32) * 1e-9;
        },
        x));
    note(
        check_cuda("f64_chain", [](Tensor t) { return exp(t) * 2.0 - tanh(t); }, x.to(DType::F64)));
    note(check_cuda("softmax", [](Tensor t) { return softmax(t, -1); }, x));
    note(check_cuda("log_softmax", [](Tensor t) { return log_softmax(t, -1); }, x));
    note(check_cuda("layer_norm", [](Tensor t) { return layer_norm(t, {129}); }, x));
    note(check_cuda(
        "row_scratch", [](Tensor t) { return softmax(t, -1) * 2.0 + 1.0; }, randn({9, 40})));
    note(check_cuda("column_sum", [](Tensor t) { return sum(exp(t), {0}); }, x));
    note(check_cuda("all_sum", [](Tensor t) { return sum(t * t); }, x));
    note(check_cuda(
        "nan_rows", [](Tensor t) { return max(t, {1}) + min(t, {1}) + sum(softmax(t, -1), {1}); },
        special));
    note(check_cuda(
        "int_ops",
        [](Tensor t) {
          Tensor i = (t * 100.0).to(DType::I64);
          return (maximum(i, i * 2 - 50) + abs(i)).to(DType::F64);
        },
        x));
    // W1 and W3 of WORKLOADS.md at small sizes (W2 is the softmax above; W4-W6 multiply).
    note(check_cuda(
        "W1",
        [](Tensor a, Tensor b, Tensor c) { return gelu(a * b + c) * sigmoid(a) + tanh(a) * 0.5; },
        randn({1000}), randn({1000}), randn({1000})));
    note(check_cuda(
        "W3", [](Tensor a, Tensor r, Tensor w, Tensor b) { return layer_norm(a + r, {96}, w, b); },
        randn({33, 96}), randn({33, 96}), randn({96}), randn({96})));
    CHECK(emitted == 15);
    for (const std::string &s : skipped) MESSAGE(s);
  }

  TEST_CASE("CUDA C of symbolic kernels reads the call's sizes: emulated at several sizes") {
    // A softmax and a mean over a [s0, s1] input: row length, strides and the 1/s1 of the
    // mean are symbolic in the kernels, as a dynamic entry's are.
    const std::string text =
        "graph @sym(%x: f32[s0,s1]) -> (f32[s0,s1], f32[s0])\n"
        "    where [device=cpu] {\n"
        "  %0: f32[s0,s1] = softmax[dim=1] %x\n"
        "  %1: f32[s0] = mean[dims=[1]] %x\n"
        "  return %0, %1\n"
        "}\n";
    const std::vector<int64_t> w0 = ir::witness_sizes(2, 0), w1 = ir::witness_sizes(2, 1),
                               w2 = ir::witness_sizes(2, 2);
    ir::Graph ga = ir::parse(text, "sym.kir");
    ir::run_pipeline(ga, ir::default_pipeline());
    const ir::Graph gb = ir::substitute(ga, {w0, w1}), gc = ir::substitute(ga, {w0, w2});
    // The mean's count is a constant of each graph: give each its own, as a trace would.
    auto with_count = [](ir::Graph g, int64_t n) {
      for (ir::Node &node : g.nodes)
        if (node.op == OpKind::Full && node.attrs.find("value") != nullptr &&
            node.attrs.get_double("value") != 0.0 && node.attrs.get_double("value") != 1.0)
          node.attrs.set("value", static_cast<double>(n));
      return g;
    };
    const lower::Target target = lower::current_target();
    const lower::CompiledGraph at_a = lower::compile_graph(with_count(ga, w0[1]), target, {},
                                                           {.codegen = false, .witnesses = w0});
    const lower::CompiledGraph at_b = lower::compile_graph(with_count(gb, w1[1]), target, {},
                                                           {.codegen = false, .witnesses = w1});
    const lower::CompiledGraph at_c = lower::compile_graph(with_count(gc, w2[1]), target, {},
                                                           {.codegen = false, .witnesses = w2});
    std::vector<lower::Kernel> symbolic;
    REQUIRE(lower::symbolize_kernels(at_a, at_b, w0, w1, {}, symbolic) == "");
    REQUIRE(lower::check_symbolic_kernels(symbolic, at_a, at_c, w0, w2, {}) == "");
    const lower::CompiledGraph c =
        lower::compile_graph(with_count(ga, w0[1]), target, {},
                             {.codegen = false, .witnesses = w0, .symbolic_kernels = symbolic});
    const std::vector<lower::Kernel> kernels = lower::distinct_kernels(c);
    bool any_symbolic = false;
    for (const lower::Kernel &k : kernels) any_symbolic = any_symbolic || k.symbolic();
    CHECK(any_symbolic);
    std::vector<std::string> symbols;
    for (const lower::ArtifactKernel &k : c.artifact.kernels) symbols.push_back(k.symbol);
    const std::string source = lower::cuda::emit_cuda(kernels, symbols);
    CHECK(source.find("const long long s1 = sizes[1];") != std::string::npos);
    if (lower::cuda::nvrtc_available())
      CHECK(!lower::cuda::compile_for_device(source, "sm_80", false).ptx.empty());
    const runtime::Program base(c.artifact.plan, lower::cuda::load_emulated(source, symbols));
    manual_seed(3);
    for (auto [n, m] : {std::pair<int64_t, int64_t>{3, 7}, {2, 129}, {17, 2}, {5, 1000}}) {
      CAPTURE(n);
      CAPTURE(m);
      const std::vector<int64_t> sizes = {n, m};
      const auto program = runtime::resize_program(base, {w0, sizes});
      const Tensor x = randn({n, m}) * 3.0;
      std::vector<const runtime::Array *> in = {&x.impl()};
      const std::vector<runtime::Array> got = program->run(in);
      REQUIRE(got.size() == 2);
      for (size_t i = 0; i < 2; ++i) {
        auto impl = std::make_shared<detail::TensorImpl>();
        static_cast<runtime::Array &>(*impl) = got[i];
        const Tensor want = i == 0 ? softmax(x, -1) : mean(x, {1});
        const std::string m2 = compare(Tensor(impl), want, Tolerance{2e-5, 2e-5});
        CHECK_MESSAGE(m2.empty(), "output ", i, ": ", m2);
      }
    }
  }
}

}  // namespace
}  // namespace kiln::test
