// The CPU backend: generated kernels against the reference evaluator on sizes that hit
// vector tails and thread splits, non-contiguous and broadcast inputs, 0-size tensors; the
// kernel counts fusion promises; vector code in the assembly; the memory plan.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "check.h"
#include "ir/settings.h"
#include "lowering/backend.h"
#include "lowering/compile_graph.h"
#include "lowering/cpu_llvm/cpu_backend.h"
#include "runtime/memory_plan.h"

namespace kiln::test {

// The CPU targets generated-code tests run at: the host's, and AVX2 (x86-64-v3), which
// AVX-512 hosts run too, so both vector widths are tested wherever CI lands. On an AVX2 host
// the second run has the host's width, at another CPU.
struct AtHost {
  static constexpr std::string_view kCpu = "";
};
struct AtAvx2 {
  static constexpr std::string_view kCpu = lower::kAvx2Cpu;
};

}  // namespace kiln::test

TYPE_TO_STRING_AS("host", kiln::test::AtHost);
TYPE_TO_STRING_AS("avx2", kiln::test::AtAvx2);

namespace kiln::test {
namespace {

// Generates code for `cpu` ("" the host) while alive, then for the host again. Skipped, with
// a message, where the host cannot run that target (not x86-64, or no AVX2).
class TargetScope {
 public:
  explicit TargetScope(std::string_view cpu) {
    if (cpu.empty()) return;
    try {
      (void)lower::set_target(cpu);
    } catch (const Error &e) {
      skipped_ = true;
      MESSAGE("skipped at CPU target '", std::string(cpu), "': ", e.what());
    }
  }
  ~TargetScope() { (void)lower::set_target(""); }
  TargetScope(const TargetScope &) = delete;
  TargetScope &operator=(const TargetScope &) = delete;
  [[nodiscard]] bool skipped() const { return skipped_; }

 private:
  bool skipped_ = false;
};

CompileOptions with_backend(Backend backend, std::string name) {
  CompileOptions o;
  o.name = std::move(name);
  o.backend = backend;
  return o;
}

// Runs fn compiled for the CPU backend and for the reference evaluator on the same inputs.
template <class Fn, class... Args>
void check_against_reference(const std::string &name, Fn fn, Args... args) {
  auto cpu = compile(fn, with_backend(Backend::Cpu, name));
  auto ref = compile(fn, with_backend(Backend::Reference, name));
  Tensor got = cpu(args...), want = ref(args...);
  const DType dtype = want.dtype();
  Tolerance tol = dtype == DType::F32   ? Tolerance{2e-5, 2e-5}
                  : dtype == DType::F64 ? Tolerance{1e-12, 1e-12}
                                        : Tolerance{};
  std::string mismatch = compare(got, want, tol);
  CHECK_MESSAGE(mismatch.empty(), name, ": ", mismatch);
}

Tensor pointwise_chain(Tensor x, Tensor a, Tensor b) {
  return gelu(x * a + b) * sigmoid(x) + tanh(x) * 0.5;
}

std::string read(const std::filesystem::path &p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

// Skipped, and counted as skipped, in a build without LLVM (-Dllvm=disabled).
TEST_SUITE("lowering" * doctest::skip(!lower::backend(lower::BackendKind::Cpu).available)) {
  TEST_CASE_TEMPLATE(
      "pointwise kernels equal the reference at sizes around vector and thread edges", T, AtHost,
      AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    for (int64_t n : {0, 1, 3, 15, 16, 17, 1023, 1025, 70001}) {
      CAPTURE(n);
      manual_seed(static_cast<uint64_t>(n));
      Tensor x = randn({n}), a = randn({n}), b = randn({n});
      check_against_reference("chain", pointwise_chain, x, a, b);
      check_against_reference(
          "unary",
          [](Tensor t) {
            return exp(t) + log(abs(t) + 1.0) + sqrt(abs(t)) + erf(t) + sin(t) * cos(t) + floor(t) +
                   round(t * 3.0) + sign(t) + clamp(t, -0.5, 0.5) + expm1(t * 0.1) + log1p(abs(t));
          },
          x);
      check_against_reference(
          "compare",
          [](Tensor t, Tensor u) {
            return where(t > u, maximum(t, u), minimum(t, u) * 2.0) + (t <= u).to(DType::F32);
          },
          x, a);
      check_against_reference(
          "f64", [](Tensor t) { return tanh(t) * exp(t) - sigmoid(t); }, x.to(DType::F64));
      check_against_reference(
          "ints", [](Tensor t) { return fmod(t * 3 + 7, 5) - abs(t); },
          randint(-50, 50, {n}, DType::I64));
      check_against_reference("convert", [](Tensor t) { return (t * 100.0).to(DType::I32); }, x);
    }
  }

  TEST_CASE_TEMPLATE("row kernels equal the reference, including NaN and infinity rows", T, AtHost,
                     AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    for (int64_t cols : {1, 3, 17, 1023, 1025}) {
      CAPTURE(cols);
      manual_seed(7);
      Tensor x = randn({5, cols}), r = randn({5, cols});
      Tensor w = randn({cols}), b = randn({cols});
      check_against_reference("softmax", [](Tensor t) { return softmax(t, -1); }, x);
      check_against_reference("log_softmax", [](Tensor t) { return log_softmax(t, -1); }, x);
      check_against_reference(
          "layer_norm",
          [](Tensor t, Tensor u, Tensor g, Tensor h) {
            return layer_norm(t + u, {t.sizes()[1]}, g, h);
          },
          x, r, w, b);
      check_against_reference(
          "rms_norm", [](Tensor t, Tensor g) { return rms_norm(t, {t.sizes()[1]}, g); }, x, w);
      check_against_reference(
          "reductions",
          [](Tensor t) {
            return sum(t, {1}) + max(t, {1}) - min(t, {1}) + mean(t, {1}) + var(t, {1});
          },
          x);
      check_against_reference("columns", [](Tensor t) { return sum(exp(t), {0}); }, x);
      check_against_reference("all", [](Tensor t) { return sum(t * t); }, x);
    }
    Tensor special = make({1, 2, NAN, 3, -INFINITY, 0, INFINITY, 1}, {2, 4});
    check_against_reference("nan_softmax", [](Tensor t) { return softmax(t, -1); }, special);
    check_against_reference("nan_max", [](Tensor t) { return max(t, {1}) + min(t, {1}); }, special);
  }

  // erf takes 1 past |x| = 5 so that e^-x^2 never goes denormal (a microcode assist per
  // vector made a GELU epilogue 9x slower); the values must stay those of eager's fast_erf.
  TEST_CASE_TEMPLATE("erf and gelu of large, infinite and NaN arguments: exact, equal to eager", T,
                     AtHost, AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    std::vector<float> v = {4.9f,  4.99999f, 5.0f,     5.00001f,  9.3f, 13.0f,
                            40.0f, 1e10f,    INFINITY, -INFINITY, NAN,  -0.0f,
                            0.4f,  0.5f,     3.7f,     -3.7f,     6.0f, -6.0f};
    for (float s = 1.0f; s < 200.0f; s *= 1.37f) v.insert(v.end(), {s, -s});
    Tensor x = from_vector(v);
    auto fn = [](Tensor t) { return stack({erf(t), gelu(t)}); };
    auto compiled = compile(fn, with_backend(Backend::Cpu, "erf_large"));
    const Tensor got = compiled(x), want = fn(x);
    CHECK(compare(got, want, Tolerance{0, 0}).empty());
    const std::vector<float> e = got.tolist<float>();
    for (size_t i = 0; i < v.size(); ++i) {
      CAPTURE(v[i]);
      if (std::fabs(v[i]) > 5.0f) CHECK(e[i] == std::copysign(1.0f, v[i]));
    }
  }

  TEST_CASE_TEMPLATE("integer constants past 2^53 stay exact in generated code", T, AtHost,
                     AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    const int64_t big = (int64_t{1} << 60) + 1;
    auto f =
        compile([big](Tensor t) { return t + big; }, with_backend(Backend::Cpu, "big_constant"));
    Tensor t = randint(0, 100, {37}, DType::I64);
    KILN_CHECK_CLOSE(f(t), t + big, Tolerance{});
    CHECK(f(t).template tolist<int64_t>()[0] == t.tolist<int64_t>()[0] + big);
  }

  TEST_CASE_TEMPLATE("short rows, vectorized across rows, equal the reference", T, AtHost, AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    for (Shape shape : {Shape{37, 5}, Shape{1025, 3}, Shape{9, 16}, Shape{8, 1}}) {
      CAPTURE(format_shape(shape));
      manual_seed(5);
      Tensor x = randn(shape), w = randn({10, shape[1]}), b = randn({10});
      check_against_reference(
          "short_rows",
          [](Tensor t) { return sum(t, {1}) * max(t, {1}) + sum(softmax(t, -1), {1}); }, x);
      check_against_reference("short_softmax", [](Tensor t) { return softmax(t, -1); }, x);
      check_against_reference("softmax_over_dim_0", [](Tensor t) { return softmax(t, 0); }, x);
      check_against_reference(
          "small_linear", [](Tensor t, Tensor u, Tensor c) { return relu(linear(t, u, c)); }, x, w,
          b);
    }
  }

  // A reduction over dim 0 (a bias gradient) reads a vector across its columns, each lane
  // adding its column's terms in f64; along the column it would gather.
  TEST_CASE_TEMPLATE("column reductions, vectorized across columns, equal the reference", T, AtHost,
                     AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    for (Shape shape : {Shape{512, 300}, Shape{9, 1030}, Shape{2000, 17}, Shape{3, 40, 24}}) {
      CAPTURE(format_shape(shape));
      manual_seed(6);
      Tensor x = randn(shape);
      check_against_reference("column_sum", [](Tensor t) { return sum(t, {0}); }, x);
      check_against_reference(
          "column_stats", [](Tensor t) { return mean(t * t, {0}) + max(t, {0}) - min(t, {0}); }, x);
      check_against_reference("softmax_over_dim_0", [](Tensor t) { return softmax(t, 0); }, x);
    }
    const auto dir = std::filesystem::temp_directory_path() / "kiln_lowering_test_columns";
    std::filesystem::remove_all(dir);
    set_dump_dir(dir.string());
    auto f = compile([](Tensor t) { return sum(t, {0}); }, with_backend(Backend::Cpu, "columns"));
    (void)f(randn({512, 300}));
    set_dump_dir("");
    const std::string kernels = read(dir / "columns.0.kernels.txt");
    std::filesystem::remove_all(dir);
    CHECK_MESSAGE(kernels.find("parallel vector for i0 in 0..300") != std::string::npos, kernels);
  }

  TEST_CASE_TEMPLATE("non-contiguous, sliced and broadcast inputs read through strides", T, AtHost,
                     AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    manual_seed(3);
    Tensor x = randn({33, 17});
    check_against_reference("transposed", [](Tensor t) { return exp(t) * 2.0; }, x.transpose(0, 1));
    check_against_reference("strided", [](Tensor t) { return softmax(t, -1); }, as_strided_copy(x));
    check_against_reference("sliced", [](Tensor t) { return relu(t) + 1.0; }, x.slice(1, 1, 17, 3));
    check_against_reference(
        "expanded", [](Tensor t) { return t + t.transpose(0, 1); },
        randn({1, 17}).expand({17, 17}));
    check_against_reference(
        "inner views", [](Tensor t) { return t.transpose(0, 1).slice(0, 0, 17, 2) * 3.0; }, x);
  }

  TEST_CASE("fusion makes W1 one kernel and softmax, layer_norm one kernel each") {
    Tensor x = randn({64, 32}), a = randn({64, 32}), b = randn({64, 32}), w = randn({32});
    auto w1 = compile(pointwise_chain, with_backend(Backend::Cpu, "w1"));
    CHECK(explain(w1, x, a, b).entries.at(0).kernels == 1);
    auto sm =
        compile([](Tensor t) { return softmax(t, -1); }, with_backend(Backend::Cpu, "softmax"));
    CHECK(explain(sm, x).entries.at(0).kernels == 1);
    auto ln = compile([](Tensor t, Tensor r, Tensor g) { return layer_norm(t + r, {32}, g, g); },
                      with_backend(Backend::Cpu, "w3"));
    Explanation e = explain(ln, x, a, w);
    CHECK(e.entries.at(0).kernels == 1);
    CHECK(e.entries.at(0).library_steps == 0);
    CHECK(e.str().find("kernels: 1; library steps: 0; peak memory per call:") != std::string::npos);
  }

  TEST_CASE_TEMPLATE("W1's kernel is vectorized: AVX-512 or AVX2 registers in its assembly", T,
                     AtHost, AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    const auto dir = std::filesystem::temp_directory_path() / "kiln_lowering_test_dump";
    std::filesystem::remove_all(dir);
    set_dump_dir(dir.string());
    auto w1 = compile(pointwise_chain, with_backend(Backend::Cpu, "vector_w1"));
    Tensor x = randn({4096});
    (void)w1(x, x, x);
    set_dump_dir("");
    const std::string assembly = read(dir / "vector_w1.0.asm.s");
    const std::string kernels = read(dir / "vector_w1.0.kernels.txt");
    std::filesystem::remove_all(dir);
    CHECK(kernels.find("parallel vector for i0 in 0..4096") != std::string::npos);
    // The target's widest registers, and none wider: AVX2 code on an AVX-512 host has no zmm.
    const bool zmm = assembly.find("zmm") != std::string::npos,
               ymm = assembly.find("ymm") != std::string::npos;
    const int64_t bytes = lower::current_target().vector_bytes;
    CHECK_MESSAGE((bytes == 64 ? zmm : ymm && !zmm), "no ", bytes, "-byte vectors in:\n",
                  assembly.substr(0, 2000));
  }

  // Sizes past the small-matmul rewrite (more than 2^16 multiply-adds), so each runs as a
  // generated GEMM: edge tiles in m and n (8 x 32 f32 tiles), depths of one, two and five
  // 256-deep blocks, several 1024-wide column blocks with and without depth blocks, an
  // empty depth.
  TEST_CASE_TEMPLATE("matmul kernels and their fused epilogues equal the reference", T, AtHost,
                     AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    struct Size {
      int64_t m, k, n;
    };
    for (Size s : {Size{17, 1025, 33}, Size{1, 1024, 1023}, Size{33, 257, 64}, Size{5, 17, 2100},
                   Size{1025, 5, 17}, Size{64, 0, 40}, Size{16, 256, 32}, Size{9, 300, 1100}}) {
      CAPTURE(s.m);
      CAPTURE(s.k);
      CAPTURE(s.n);
      manual_seed(static_cast<uint64_t>(s.m * 7 + s.k));
      Tensor x = randn({s.m, s.k}), w = randn({s.n, s.k}), b = randn({s.n}), r = randn({s.m, s.n});
      check_against_reference(
          "linear_gelu", [](Tensor t, Tensor u, Tensor c) { return gelu(linear(t, u, c)); }, x, w,
          b);
      check_against_reference(
          "residual",
          [](Tensor t, Tensor u, Tensor v) { return matmul(t, u.transpose(0, 1)) * 0.5 + v; }, x, w,
          r);
      check_against_reference(
          "product_and_epilogue",
          [](Tensor t, Tensor u) {
            Tensor p = matmul(t, u.transpose(0, 1));
            return p + tanh(p);  // the product is read twice, once through tanh
          },
          x, w);
      check_against_reference(
          "f64", [](Tensor t, Tensor u) { return relu(matmul(t, u.transpose(0, 1))); },
          x.to(DType::F64), w.to(DType::F64));
      // No output of C's dtype: partial sums between depth blocks go to scratch.
      check_against_reference(
          "bool_epilogue", [](Tensor t, Tensor u) { return matmul(t, u.transpose(0, 1)) > 0.5; }, x,
          w);
    }
  }

  TEST_CASE_TEMPLATE("a cast of a matmul operand is done while packing it (the GEMM's prologue)", T,
                     AtHost, AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    manual_seed(13);
    Tensor x = randn({40, 300}).to(DType::F64), w = randn({300, 70});
    Tensor wi = randint(-3, 4, {300, 70}, DType::I32);
    auto cast_a = [](Tensor t, Tensor u) { return relu(matmul(t.to(DType::F32), u)); };
    check_against_reference("cast_lhs", cast_a, x, w);
    check_against_reference(
        "cast_both",
        [](Tensor t, Tensor u) { return matmul(t.to(DType::F32), u.to(DType::F32)) + 1.0; }, x, wi);
    auto f = compile(cast_a, with_backend(Backend::Cpu, "prologue"));
    CHECK(explain(f, x, w).entries.at(0).kernels == 1);
    CHECK(compare(f(x, w), cast_a(x, w), Tolerance{1e-5, 1e-5}).empty());
  }

  TEST_CASE_TEMPLATE(
      "a matmul kernel returns its product and its epilogue, and may read its operand again", T,
      AtHost, AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    manual_seed(12);
    Tensor x = randn({70, 70}), w = randn({300, 70});
    auto fn = [](Tensor t, Tensor u) {
      Tensor p = matmul(t, u.transpose(0, 1));
      return std::vector<Tensor>{p, sigmoid(p) * 2.0};
    };
    auto cpu = compile(fn, with_backend(Backend::Cpu, "two_outputs"));
    std::vector<Tensor> got = cpu(x, w), want = fn(x, w);
    REQUIRE(got.size() == 2);
    for (size_t i = 0; i < 2; ++i) CHECK(compare(got[i], want[i], Tolerance{1e-4, 1e-4}).empty());
    CHECK(explain(cpu, x, w).entries.at(0).kernels == 1);
    check_against_reference("square_plus_operand", [](Tensor t) { return matmul(t, t) + t; }, x);
  }

  // A training step returns the weight gradient g; Adam's 0.1 * g belongs to the update
  // kernel, which reads g anyway, not to the GEMM as one more output buffer.
  TEST_CASE("a matmul kernel does not write epilogue values that only another kernel reads") {
    manual_seed(3);
    Tensor x = randn({70, 70}), w = randn({70, 300}), m = randn({70, 300});
    auto fn = [](Tensor t, Tensor u, Tensor v) {
      Tensor g = matmul(t, u);
      return std::vector<Tensor>{g, v * 0.9 + g * 0.1};
    };
    auto f = compile(fn, with_backend(Backend::Cpu, "grad_and_moment"));
    std::vector<Tensor> got = f(x, w, m), want = fn(x, w, m);
    for (size_t i = 0; i < 2; ++i) CHECK(compare(got[i], want[i], Tolerance{1e-4, 1e-4}).empty());
    const Explanation::Entry e = explain(f, x, w, m).entries.at(0);
    CHECK(e.kernels == 2);
    // The GEMM's call line defines one value: "%3: f32[70,300] = call[kernel=@….k0] …".
    std::istringstream lines(e.fused);
    int gemm_calls = 0;
    for (std::string line; std::getline(lines, line);) {
      const size_t call = line.find(" = call[kernel=");
      if (call == std::string::npos || line.find("%arg0") == std::string::npos) continue;
      ++gemm_calls;
      const std::string defined = line.substr(0, call);
      CHECK_MESSAGE(std::count(defined.begin(), defined.end(), '%') == 1, line);
    }
    CHECK(gemm_calls == 1);
    // A chain that ends in a returned value stays in the epilogue, a graph input beside it.
    auto chain = [](Tensor t, Tensor u, Tensor v) {
      Tensor g = matmul(t, u);
      return std::vector<Tensor>{g, relu(g * 0.1 + v)};
    };
    auto c = compile(chain, with_backend(Backend::Cpu, "grad_and_residual"));
    got = c(x, w, m);
    want = chain(x, w, m);
    for (size_t i = 0; i < 2; ++i) CHECK(compare(got[i], want[i], Tolerance{1e-4, 1e-4}).empty());
    CHECK(explain(c, x, w, m).entries.at(0).kernels == 1);
  }

  TEST_CASE_TEMPLATE(
      "batched matmul kernels: broadcast epilogue inputs, strided and sliced operands", T, AtHost,
      AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    // One thread (products in turn, threads inside each), two and sixteen (one product per
    // thread) take the driver's two ways of splitting a batch.
    const int threads = num_threads();
    for (int t : {1, 2, 16}) {
      CAPTURE(t);
      set_num_threads(t);
      manual_seed(11);
      Tensor q = randn({3, 40, 70}), k = randn({3, 90, 70}), bias = randn({3, 1, 90});
      // Rows of [3, 40] cannot merge for the bias (stride 0 inside a batch): two row loops.
      check_against_reference(
          "scores",
          [](Tensor a, Tensor b, Tensor c) {
            return exp(matmul(a, b.transpose(1, 2)) * 0.125 - c);
          },
          q, k, bias);
      check_against_reference(
          "sliced_lhs",
          [](Tensor a, Tensor b) {
            return matmul(a.slice(2, 0, 64), b.slice(2, 0, 64).transpose(1, 2)) + 1.0;
          },
          q, k);
      check_against_reference(
          "expanded_rhs", [](Tensor a, Tensor b) { return sigmoid(matmul(a, b)); }, q,
          randn({70, 33}).expand({3, 70, 33}));
      check_against_reference(
          "expanded_lhs", [](Tensor a, Tensor b) { return relu(matmul(a, b)); },
          randn({33, 70}).expand({3, 33, 70}), k.transpose(1, 2));
      check_against_reference(
          "deep_batched", [](Tensor a, Tensor b) { return matmul(a, b) * 0.5; },
          randn({4, 20, 600}), randn({4, 600, 30}));
    }
    set_num_threads(threads);
  }

  // kernel.gemm_split = columns: each thread its own columns (and packed B), a width of
  // whole tiles that need not divide n; 3 threads leave a short last range.
  TEST_CASE_TEMPLATE("GEMMs split by columns across threads equal those split by rows", T, AtHost,
                     AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    const int threads = num_threads();
    struct Size {
      int64_t m, k, n;
    };
    for (int t : {2, 3}) {
      set_num_threads(t);
      for (Size s : {Size{70, 300, 33}, Size{40, 600, 1100}, Size{9, 70, 2100}}) {
        CAPTURE(t);
        CAPTURE(s.n);
        manual_seed(static_cast<uint64_t>(s.n));
        Tensor x = randn({s.m, s.k}), w = randn({s.n, s.k}), b = randn({s.n});
        auto fn = [](Tensor a, Tensor u, Tensor c) { return gelu(linear(a, u, c)); };
        CompileOptions columns = with_backend(Backend::Cpu, "split_columns");
        columns.choices = "kernel.gemm_split = columns";
        auto by_columns = compile(fn, columns);
        auto by_rows = compile(fn, with_backend(Backend::Cpu, "split_rows"));
        CHECK(compare(by_columns(x, w, b), by_rows(x, w, b), Tolerance{}).empty());
        CHECK(compare(by_columns(x, w, b), fn(x, w, b), Tolerance{1e-5, 1e-5}).empty());
        CHECK(explain(by_columns, x, w, b).entries.at(0).choices == "kernel.gemm_split = columns");
      }
    }
    set_num_threads(threads);
  }

  TEST_CASE("a linear layer with its activation is one matmul kernel; W4 is two") {
    Tensor x = randn({64, 128}), w1 = randn({256, 128}), b1 = randn({256}), w2 = randn({128, 256}),
           b2 = randn({128});
    auto one = compile([](Tensor t, Tensor w, Tensor b) { return gelu(linear(t, w, b)); },
                       with_backend(Backend::Cpu, "linear_gelu"));
    Explanation e = explain(one, x, w1, b1);
    CHECK(e.entries.at(0).kernels == 1);
    CHECK(e.entries.at(0).library_steps == 1);  // the weight's transpose, a view
    // The result, plus the GEMM's packing: B (128 x 256) and a block of A per thread.
    CHECK(e.entries.at(0).peak_bytes >= 64 * 256 * 4 + 128 * 256 * 4);
    auto w4 = compile([](Tensor t, Tensor u, Tensor c, Tensor v,
                         Tensor d) { return linear(gelu(linear(t, u, c)), v, d); },
                      with_backend(Backend::Cpu, "w4"));
    CHECK(explain(w4, x, w1, b1, w2, b2).entries.at(0).kernels == 2);
    // On a [batch, seq, d] input the matmul runs on [batch*seq, d] and is reshaped back;
    // sink-reshapes moves the activation under the reshape, into the GEMM's epilogue.
    Tensor x3 = randn({4, 16, 128});
    auto seq = compile([](Tensor t, Tensor w, Tensor b) { return gelu(linear(t, w, b)) * 0.5; },
                       with_backend(Backend::Cpu, "linear_gelu_3d"));
    CHECK(compare(seq(x3, w1, b1), gelu(linear(x3, w1, b1)) * 0.5, Tolerance{1e-5, 1e-5}).empty());
    CHECK(explain(seq, x3, w1, b1).entries.at(0).kernels == 1);
  }

  TEST_CASE_TEMPLATE("the GEMM micro-kernel is vector FMAs, and its tile is in the kernel IR", T,
                     AtHost, AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    const auto dir = std::filesystem::temp_directory_path() / "kiln_lowering_test_gemm_dump";
    std::filesystem::remove_all(dir);
    set_dump_dir(dir.string());
    auto f = compile([](Tensor t, Tensor w) { return relu(matmul(t, w)); },
                     with_backend(Backend::Cpu, "gemm_asm"));
    Tensor x = randn({64, 64});
    (void)f(x, x);
    set_dump_dir("");
    const std::string assembly = read(dir / "gemm_asm.0.asm.s");
    const std::string kernels = read(dir / "gemm_asm.0.kernels.txt");
    std::filesystem::remove_all(dir);
    // The tile follows the target's vectors (AVX-512: mr=8 nr=32; AVX2: mr=6 nr=16).
    const bool avx512 = lower::current_target().vector_bytes == 64;
    CHECK_MESSAGE(kernels.find(fmt::format(
                      "  product: f32 = matmul %arg0[64,64], %arg1[64,64] tiled {} kc=256 mc=256 "
                      "nc=1024\n",
                      avx512 ? "mr=8 nr=32" : "mr=6 nr=16")) != std::string::npos,
                  kernels);
    const bool fma =
        assembly.find(avx512 ? "vfmadd231ps\t%zmm" : "vfmadd231ps\t%ymm") != std::string::npos;
    CHECK_MESSAGE(fma, "no vector FMA in:\n", assembly.substr(0, 3000));
  }

  TEST_CASE_TEMPLATE(
      "a big softmax keeps exp in a row of scratch and streams its output past the caches", T,
      AtHost, AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    const auto dir = std::filesystem::temp_directory_path() / "kiln_lowering_test_stream_dump";
    std::filesystem::remove_all(dir);
    set_dump_dir(dir.string());
    auto f =
        compile([](Tensor t) { return softmax(t, -1); }, with_backend(Backend::Cpu, "streamed"));
    Tensor x = randn({2048, 1024});  // 8 MiB out: schedule.streaming_bytes
    Tensor got = f(x);
    set_dump_dir("");
    const std::string assembly = read(dir / "streamed.0.asm.s");
    const std::string kernels = read(dir / "streamed.0.kernels.txt");
    std::filesystem::remove_all(dir);
    CHECK(kernels.find("f32[2097152] out streaming, %row3: f32[1024] row scratch) {") !=
          std::string::npos);
    CHECK(kernels.find("store %row3[i1] = v4") != std::string::npos);
    CHECK(assembly.find("vmovntps") != std::string::npos);
    std::string mismatch = compare(got, softmax(x, -1), Tolerance{1e-6, 1e-5});
    CHECK_MESSAGE(mismatch.empty(), mismatch);

    // The autotuner's two switches: the same kernel with neither, and the same answers.
    set_dump_dir(dir.string());
    CompileOptions plain = with_backend(Backend::Cpu, "plain");
    plain.choices = "kernel.streaming = false\nkernel.row_scratch = false";
    auto g = compile([](Tensor t) { return softmax(t, -1); }, plain);
    Tensor got_plain = g(x);
    set_dump_dir("");
    const std::string plain_kernels = read(dir / "plain.0.kernels.txt");
    const std::string plain_assembly = read(dir / "plain.0.asm.s");
    std::filesystem::remove_all(dir);
    CHECK_MESSAGE(plain_kernels.find("streaming") == std::string::npos, plain_kernels);
    CHECK(plain_kernels.find("row scratch") == std::string::npos);
    CHECK(plain_assembly.find("vmovntps") == std::string::npos);
    mismatch = compare(got_plain, got, Tolerance{1e-6, 1e-5});
    CHECK_MESSAGE(mismatch.empty(), mismatch);
  }

  TEST_CASE_TEMPLATE("big flat outputs stream from every thread's first line, an arena buffer too",
                     T, AtHost, AtAvx2) {
    const TargetScope at(T::kCpu);
    if (at.skipped()) return;
    manual_seed(14);
    Tensor x = randn({(int64_t{1} << 21) + 37});  // 8 MiB + 37 floats: a masked tail
    const int threads = num_threads();
    for (int t : {1, 2, 16}) {
      CAPTURE(t);
      set_num_threads(t);
      // "arena": tanh(a) + 1 is an intermediate (an arena buffer) that a later kernel reads.
      check_against_reference("flat", [](Tensor a) { return exp(a) * 2.0 + 1.0; }, x);
      check_against_reference(
          "arena",
          [](Tensor a) {
            Tensor y = tanh(a) + 1.0;
            return sum(exp(y), {0}) + y;
          },
          x);
    }
    set_num_threads(threads);
  }

  TEST_CASE("a CPU target LLVM does not know, or whose code the host cannot run, is refused") {
    CHECK_THROWS_WITH_AS((void)lower::set_target("no-such-cpu"),
                         "cpu backend: unknown CPU target 'no-such-cpu'\n"
                         "  hint: 'llc -mcpu=help' lists the CPUs LLVM knows",
                         Error);
    const lower::Target host = lower::host_target();
    CHECK(lower::current_target().cpu == host.cpu);
    if (host.vector_bytes < 64) {
      const std::string prefix =
          "cpu backend: cannot use CPU target 'skylake-avx512' here: code for CPU "
          "'skylake-avx512' needs ";
      std::string message;
      try {
        (void)lower::set_target("skylake-avx512");
      } catch (const Error &e) {
        message = e.what();
      }
      CHECK_MESSAGE(message.starts_with(prefix), message);
      CHECK(message.find("avx512f") != std::string::npos);
      CHECK(message.ends_with(fmt::format("which this host ('{}') lacks", host.cpu)));
    }
    CHECK(lower::current_target().cpu == host.cpu);  // a refused target changes nothing
  }

  // Issue 12: W1 compiled under `ulimit -v 400000` crashed unwinding after the JIT's lookup
  // threw. The faults below fail a compile the ways memory running out does, deterministically;
  // each must be a kiln::Error naming the kernel, and the JIT must work afterwards.
  TEST_CASE("a compile that fails in LLVM is a kiln::Error, and the JIT still works after it") {
    using lower::cpu::CompileFault;
    auto fn = [](Tensor t) { return exp(t) * 2.0 + 1.0; };
    Tensor x = randn({1000});
    struct Case {
      CompileFault fault;
      std::string message;  // its start: a missing symbol's text goes on with ORC's words
    };
    for (const Case &c :
         {Case{CompileFault::Codegen,
               "cpu backend: out of memory while generating code for kernel 'fault.k0'"},
          Case{CompileFault::Materialize, "cpu backend: out of memory while linking 'fault'"},
          Case{CompileFault::MissingSymbol, "cpu backend: cannot find 'kiln"}}) {
      CAPTURE(static_cast<int>(c.fault));
      {
        auto f = compile(fn, with_backend(Backend::Cpu, "fault"));
        lower::cpu::inject_compile_fault(c.fault);
        std::string message;
        try {
          (void)f(x);
        } catch (const Error &e) {
          message = e.what();
        }
        lower::cpu::inject_compile_fault(CompileFault::None);
        CHECK_MESSAGE(message.starts_with(c.message), message);
        if (c.fault != CompileFault::MissingSymbol) CHECK(message == c.message);
      }  // the failed compile's code owner, if any, is gone here
      check_against_reference("after_fault", fn, x);
    }
  }

  TEST_CASE("the memory plan reuses bytes only between buffers whose lives do not overlap") {
    using runtime::BufferLife;
    runtime::MemoryPlan plan = runtime::plan_memory({
        {1000, 0, 1},  // a: read by step 1
        {1000, 1, 2},  // b: overlaps a and c
        {1000, 2, 3},  // c: may reuse a
        {4000, 3, 4},  // d: larger than any hole
    });
    REQUIRE(plan.offsets.size() == 4);
    CHECK(plan.offsets[0] == 0);
    CHECK(plan.offsets[1] == 1024);
    CHECK(plan.offsets[2] == 0);
    CHECK(plan.offsets[3] == 1024);  // b's bytes are free again at step 3
    CHECK(plan.arena_bytes == 1024 + 4032);
    CHECK(plan.unshared_bytes == 3 * 1024 + 4032);
  }
}

}  // namespace kiln::test
