// compile(): results equal eager; guards trigger one recompile each with the reason in
// words; graph breaks fall back once; stances, limits, captures, outputs, threads.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "check.h"
#include "ir/settings.h"
#include "log_capture.h"
#include "ops/op_cases.h"

namespace kiln::test {
namespace {

Tensor linear_relu(Tensor x, Tensor w, Tensor b) { return relu(matmul(x, w) + b); }

CompileOptions named(std::string name, std::vector<std::string> args) {
  CompileOptions o;
  o.name = std::move(name);
  o.arg_names = std::move(args);
  return o;
}

}  // namespace

TEST_SUITE("compile") {
  TEST_CASE("a compiled function equals eager and compiles once per guard set") {
    manual_seed(0);
    // Big enough to stay a matmul (smaller ones become generated reductions).
    Tensor x = randn({64, 64}), w = randn({64, 32}), b = randn({32});
    auto f = compile(linear_relu, named("linear_relu", {"x", "w", "b"}));
    KILN_CHECK_CLOSE(f(x, w, b), linear_relu(x, w, b), Tolerance{1e-5, 1e-5});
    KILN_CHECK_CLOSE(f(x, w, b), linear_relu(x, w, b), Tolerance{1e-5, 1e-5});
    Explanation ex = explain(f, x, w, b);
    CHECK(ex.graphs == 1);
    CHECK(ex.graph_breaks == 0);
    REQUIRE(ex.entries.size() == 1);
    CHECK(ex.entries[0].guards ==
          std::vector<std::string>{"tensor 'x' (arg 0): f32[64,64] on cpu, contiguous",
                                   "tensor 'w' (arg 1): f32[64,32] on cpu, contiguous",
                                   "tensor 'b' (arg 2): f32[32] on cpu, contiguous"});
    CHECK(ex.entries[0].op_counts == std::vector<std::pair<std::string, int>>{
                                         {"add", 1}, {"broadcast", 1}, {"matmul", 1}, {"relu", 1}});
  }

  TEST_CASE("each guard kind triggers one recompile with its reason") {
    struct GuardCase {
      std::string what;
      std::function<Tensor()> second;  // the argument for the second call
      std::string reason;
    };
    Tensor base = arange(12, DType::F32).reshape({3, 4});
    std::vector<GuardCase> cases = {
        {"size", [] { return zeros({4, 4}); },
         "recompiling g: tensor 'x' (arg 0) size mismatch at dim 0: expected 3, got 4"},
        {"dtype", [] { return zeros({3, 4}, DType::F64); },
         "recompiling g: tensor 'x' (arg 0) dtype mismatch: expected f32, got f64"},
        {"rank", [] { return zeros({12}); },
         "recompiling g: tensor 'x' (arg 0) rank mismatch: expected 2, got 1"},
        {"layout", [] { return zeros({4, 3}).transpose(0, 1); },
         "recompiling g: tensor 'x' (arg 0) layout mismatch: expected contiguous, got strides "
         "[1,3]"},
    };
    for (const GuardCase &c : cases) {
      CAPTURE(c.what);
      auto g = compile([](Tensor x) { return exp(x) * 2; }, named("g", {"x"}));
      LogCapture log("recompiles");
      (void)g(base);
      (void)g(base);
      Tensor other = c.second();
      KILN_CHECK_CLOSE(g(other), exp(other) * 2, Tolerance{1e-6, 1e-6});
      (void)g(other);
      CHECK(log.lines() == std::vector<std::string>{"recompiles: " + c.reason});
      CHECK(explain(g, other).graphs == 2);
    }
  }

  TEST_CASE("scalars are guarded by value, or read at each call where the options say so") {
    // By default a scalar's value is guarded: a new value is a recompile, with a hint.
    auto g =
        compile([](Tensor x, double alpha) { return x * alpha; }, named("scale", {"x", "alpha"}));
    Tensor x = ones({3});
    LogCapture log("recompiles");
    KILN_CHECK_CLOSE(g(x, 0.5), full({3}, 0.5), Tolerance{});
    KILN_CHECK_CLOSE(g(x, 0.25), full({3}, 0.25), Tolerance{});
    (void)g(x, 0.25);
    CHECK(log.lines() ==
          std::vector<std::string>{
              "recompiles: recompiling scale: scalar 'alpha' (arg 1) value mismatch: expected "
              "0.5, got 0.25 (CompileOptions::runtime_scalars can read it at each call)"});
    Explanation ex = explain(g, x, 0.25);
    REQUIRE(ex.entries.size() == 2);
    CHECK(ex.entries[1].guards[1] == "scalar 'alpha' (arg 1) == 0.25");
    CHECK(ex.entries[1].graph.find("where [device=cpu, alpha=0.25]") != std::string::npos);

    // runtime_scalars: a schedule of doubles and a step counter, one compile.
    int traces = 0;
    CompileOptions runtime = named("step", {"x", "alpha", "k", "flag"});
    runtime.runtime_scalars = {1, 2};
    auto h = compile(
        [&](Tensor x, double alpha, int64_t k, bool flag) {
          ++traces;
          return x * alpha + static_cast<double>(k) + (flag ? 1.0 : 0.0);
        },
        runtime);
    for (int i = 0; i < 1000; ++i) {
      const double alpha = 1.0 / (i + 1);
      KILN_CHECK_CLOSE(h(x, alpha, int64_t{i}, true), full({3}, alpha + i + 1), {1e-6, 1e-7});
    }
    CHECK(traces == 2);  // the trace and its witness trace
    Explanation hx = explain(h, x, 0.25, int64_t{2}, true);
    REQUIRE(hx.entries.size() == 1);
    CHECK(hx.entries[0].guards[1] ==
          "scalar 'alpha' (arg 1): a double, read at each call (a runtime input, not guarded by "
          "value)");
    CHECK(hx.entries[0].guards[2] ==
          "scalar 'k' (arg 2): an int, read at each call (a runtime input, not guarded by value)");
    CHECK(hx.entries[0].guards[3] == "scalar 'flag' (arg 3) == true");
    CHECK(hx.entries[0].graph.find("(%x: f32[3], %alpha: f32[], %k: f32[])") != std::string::npos);
    CHECK(hx.entries[0].graph.find("where [device=cpu, flag=true]") != std::string::npos);

    // A listed scalar the function computes with in C++, or sizes something with, stays
    // guarded by value, and KILN_LOGS=guards says why.
    LogCapture why("guards");
    CompileOptions bias_options = named("bias", {"x", "beta"});
    bias_options.runtime_scalars = {1};
    auto bias = compile([](Tensor x, double beta) { return x / (1 - beta * beta); }, bias_options);
    KILN_CHECK_CLOSE(bias(x, 0.5), full({3}, 1 / 0.75), {1e-6, 1e-6});
    KILN_CHECK_CLOSE(bias(x, 0.25), full({3}, 1 / (1 - 0.0625)), {1e-6, 1e-6});
    CHECK(explain(bias, x, 0.25).graphs == 2);
    CHECK(why.lines().at(0) ==
          "guards: bias: scalar argument(s) 'beta' stay constants, guarded by value: it computes "
          "with them before they reach a tensor op (a constant derived from one)");
    CompileOptions sized_options = named("sized", {"x", "n"});
    sized_options.runtime_scalars = {1};
    auto sized =
        compile([](Tensor x, int64_t n) { return x.reshape({n, -1}) * 2.0; }, sized_options);
    const Tensor six = ones({6});
    (void)sized(six, int64_t{2});
    KILN_CHECK_CLOSE(sized(six, int64_t{3}), full({3, 2}, 2.0), Tolerance{});
    CHECK(explain(sized, six, int64_t{2}).graphs == 2);
    // A listed scalar the graph never reads stays guarded (it may have decided a size).
    CompileOptions unused_options = named("unused", {"x", "r"});
    unused_options.runtime_scalars = {1};
    auto unused =
        compile([](Tensor x, double r) { return x.slice(0, 0, static_cast<int64_t>(r * 6)) * 2.0; },
                unused_options);
    KILN_CHECK_CLOSE(unused(six, 0.5), full({3}, 2.0), Tolerance{});
    KILN_CHECK_CLOSE(unused(six, 1.0), full({6}, 2.0), Tolerance{});
  }

  TEST_CASE("a recompile report lists one reason per entry, closest first") {
    CompileOptions o = named("g2", {"x", "y"});
    o.dynamic = Dynamic::Off;  // every size its own entry (dynamic shapes: dynamic_test.cpp)
    auto g = compile([](Tensor x, Tensor y) { return x + sum(y); }, o);
    (void)g(zeros({2}), zeros({2}));
    (void)g(zeros({3}), zeros({2}));
    LogCapture log("recompiles");
    (void)g(zeros({3}), zeros({5}));
    CHECK(log.lines() ==
          std::vector<std::string>{
              "recompiles: recompiling g2: tensor 'y' (arg 1) size mismatch at dim 0: "
              "expected 2, got 5; tensor 'x' (arg 0) size mismatch at dim 0: expected 2, got 3"});
  }

  TEST_CASE("past the recompile limit the function runs eagerly and says so once") {
    CompileOptions o = named("limited", {"x"});
    o.recompile_limit = 2;
    o.dynamic = Dynamic::Off;
    auto g = compile([](Tensor x) { return x * 3; }, o);
    LogCapture log("");
    for (int64_t n = 1; n <= 5; ++n) KILN_CHECK_CLOSE(g(ones({n})), full({n}, 3.0), Tolerance{});
    CHECK(log.lines() ==
          std::vector<std::string>{
              "warning: limited: hit the recompile limit (2); new guard sets run eagerly. "
              "Last reason: tensor 'x' (arg 0) size mismatch at dim 0: expected 1, got 3; "
              "tensor 'x' (arg 0) size mismatch at dim 0: expected 2, got 3"});
    CHECK(explain(g, ones({1})).graphs == 2);
  }

  TEST_CASE("stances decide what a guard miss does") {
    CompileOptions fail_on = named("strict", {"x"});
    fail_on.stance = Stance::FailOnRecompile;
    auto strict = compile([](Tensor x) { return x + 1; }, fail_on);
    (void)strict(zeros({2}));
    CHECK(error_message([&] { (void)strict(zeros({3})); }) ==
          "strict: recompiling is not allowed (stance fail_on_recompile): tensor 'x' (arg 0) size "
          "mismatch at dim 0: expected 2, got 3");

    CompileOptions eager_on = named("relaxed", {"x"});
    eager_on.stance = Stance::EagerOnRecompile;
    auto relaxed = compile([](Tensor x) { return x + 1; }, eager_on);
    (void)relaxed(zeros({2}));
    KILN_CHECK_CLOSE(relaxed(zeros({3})), ones({3}), Tolerance{});
    CHECK(explain(relaxed, zeros({2})).entries.size() == 1);

    CompileOptions never = named("never", {"x"});
    never.stance = Stance::ForceEager;
    auto forced = compile([](Tensor x) { return x + 1; }, never);
    KILN_CHECK_CLOSE(forced(zeros({2})), ones({2}), Tolerance{});
    CHECK(explain(forced, zeros({2})).entries.empty());

    CompileOptions cuda = named("gpu", {});
    cuda.backend = Backend::Cuda;
    CHECK(error_message([&] { (void)compile([](Tensor x) { return x; }, cuda); }) ==
          "gpu: backend cuda cannot run yet: kiln generates CUDA C for its kernels (tested by "
          "emulation; kiln-opt --emit=cuda) but has no CUDA runtime; this machine: " +
              (kiln::cuda::is_available()
                   ? fmt::format("{} CUDA device(s)", kiln::cuda::device_count())
                   : kiln::cuda::why_unavailable()));
    // The driver probe: consistent whichever machine runs this.
    if (kiln::cuda::is_available()) {
      CHECK(kiln::cuda::why_unavailable().empty());
      CHECK(kiln::cuda::device_count() >= 1);
    } else {
      CHECK(kiln::cuda::device_count() == 0);
      const std::string why = kiln::cuda::why_unavailable();
      CHECK((why.starts_with("no CUDA driver (") || why.starts_with("the CUDA driver") ||
             why.starts_with("no CUDA device")));
      MESSAGE("CUDA: " << why);
    }
  }

  TEST_CASE("item() inside a compiled function is a graph break: eager, once, explained") {
    int traces = 0;
    auto g = compile(
        [&](Tensor x) {
          ++traces;
          double m = max(x).item<double>();
          return x / m;
        },
        named("normalize", {"x"}));
    Tensor x = from_vector<float>({1, 2, 4});
    LogCapture log("breaks");
    KILN_CHECK_CLOSE(g(x), from_vector<float>({0.25f, 0.5f, 1.0f}), Tolerance{});
    KILN_CHECK_CLOSE(g(x), from_vector<float>({0.25f, 0.5f, 1.0f}), Tolerance{});
    CHECK(traces == 3);  // one trace that broke, then two eager runs: no retrace
    // The break is logged under KILN_LOGS=breaks, and said once whatever KILN_LOGS is.
    CHECK(log.lines() ==
          std::vector<std::string>{
              "breaks: normalize: graph break at 'item': it needs the tensor's values "
              "while tracing; this guard set runs eagerly",
              "warning: normalize: graph break at 'item': it needs the tensor's values while "
              "tracing; this guard set runs eagerly (said once per function; KILN_LOGS=breaks "
              "shows every break, KILN_QUIET_FALLBACK=1 silences this)"});
    Explanation ex = explain(g, x);
    CHECK(ex.graphs == 0);
    CHECK(ex.graph_breaks == 1);
    CHECK(ex.entries[0].break_op == "item");
    CHECK(ex.str().find("graph break at 'item'") != std::string::npos);
  }

  TEST_CASE("an eager fallback is said once per function, unless asked to be quiet") {
    auto noisy = [](Tensor x) { return x / max(x).item<double>(); };
    LogCapture log("");
    auto f = compile(noisy, named("noisy", {"x"}));
    (void)f(ones({4}));
    (void)f(ones({5}));  // a second guard set breaks too: not said again
    (void)f(ones({6}));
    const std::vector<std::string> once = {
        "warning: noisy: graph break at 'item': it needs the tensor's values while tracing; "
        "this guard set runs eagerly (said once per function; KILN_LOGS=breaks shows every "
        "break, KILN_QUIET_FALLBACK=1 silences this)"};
    CHECK(log.lines() == once);
    CompileOptions quiet = named("quiet", {"x"});
    quiet.quiet_fallback = true;
    auto q = compile(noisy, quiet);
    (void)q(ones({4}));
    set_quiet_fallback(true);  // KILN_QUIET_FALLBACK=1
    auto g = compile(noisy, named("env_quiet", {"x"}));
    (void)g(ones({4}));
    set_quiet_fallback(false);
    CHECK(log.lines() == once);
    // The recompile limit is a fallback too: said once, or kept to KILN_LOGS=recompiles.
    CompileOptions limited = named("limited", {"x"});
    limited.recompile_limit = 1;
    limited.dynamic = Dynamic::Off;
    limited.quiet_fallback = true;
    auto l = compile([](Tensor x) { return x * 2; }, limited);
    (void)l(zeros({4}));
    (void)l(zeros({5}));
    CHECK(log.lines() == once);
  }

  TEST_CASE("random ops compile: the same numbers as eager, the generator moved as eagerly") {
    // The draws themselves, and arithmetic on them (which fusion may round differently).
    auto noisy = [](Tensor x) {
      Tensor d = dropout(x, 0.25, true), n = randn(x.sizes()), u = rand({3}, DType::F64),
             i = randint(0, 9, x.sizes());
      return std::vector<Tensor>{d, n, u, i, d + n * 0.5 + sum(u) + i.to(DType::F32)};
    };
    const int threads_before = num_threads();
    for (int threads : {1, 2}) {
      CAPTURE(threads);
      set_num_threads(threads);
      for (Backend backend : {Backend::Cpu, Backend::Reference}) {
        CompileOptions options = named("noisy", {"x"});
        options.backend = backend;
        auto f = compile(noisy, options);
        const Tensor x = randn({6, 33});
        for (int call = 0; call < 3; ++call) {  // the first call traces, the others do not
          manual_seed(100 + call);
          const std::vector<Tensor> want = noisy(x);
          const Tensor want_next = rand({2});
          manual_seed(100 + call);
          const std::vector<Tensor> got = f(x);
          const Tensor got_next = rand({2});
          REQUIRE(got.size() == 5);
          for (size_t k = 0; k < 4; ++k) KILN_CHECK_CLOSE(got[k], want[k], Tolerance{});  // exact
          KILN_CHECK_CLOSE(got[4], want[4], {1e-12, 1e-12});
          KILN_CHECK_CLOSE(got_next, want_next, Tolerance{});  // the stream continues alike
          // Two calls in a row draw different numbers, as two eager calls do.
          CHECK(compare(f(x)[1], got[1], Tolerance{}) != "");
        }
        CHECK(explain(f, x).graphs == 1);
        CHECK(explain(f, x).graph_breaks == 0);
      }
    }
    set_num_threads(threads_before);
    // A trace that draws and then breaks leaves the generator alone: the eager run draws
    // exactly what a plain eager call would.
    auto draw_then_break = [](Tensor x) {
      Tensor r = rand(x.sizes());
      return r / max(r).item<double>();
    };
    auto broken = compile(draw_then_break, named("draw_then_break", {"x"}));
    for (int call = 0; call < 2; ++call) {
      manual_seed(9);
      const Tensor want = draw_then_break(zeros({5})), want_next = rand({2});
      manual_seed(9);
      const Tensor got = broken(zeros({5})), got_next = rand({2});
      KILN_CHECK_CLOSE(got, want, Tolerance{});
      KILN_CHECK_CLOSE(got_next, want_next, Tolerance{});
    }
    CHECK(explain(broken, zeros({5})).entries[0].break_op == "item");
    // Seeding inside the function is a side effect of running it: a graph break, answers
    // still eager's.
    auto seeded = compile(
        [](Tensor x) {
          manual_seed(7);
          return x + rand(x.sizes());
        },
        named("seeded", {"x"}));
    const Tensor a = seeded(zeros({4})), b = seeded(zeros({4}));
    KILN_CHECK_CLOSE(a, b, Tolerance{});
    CHECK(explain(seeded, zeros({4})).entries[0].break_op == "manual_seed");
    // A function that draws keeps its sizes static: each call's draw depends on them.
    CompileOptions dynamic = named("dyn_noisy", {"x"});
    dynamic.dynamic = Dynamic::On;
    auto d = compile([](Tensor x) { return dropout(x, 0.5, true); }, dynamic);
    for (int64_t n : {8, 9}) {
      manual_seed(5);
      const Tensor want = dropout(ones({n}), 0.5, true);
      manual_seed(5);
      KILN_CHECK_CLOSE(d(ones({n})), want, Tolerance{});
    }
    CHECK(explain(d, ones({8})).graphs == 2);
    auto eval_dropout =
        compile([](Tensor x) { return dropout(x, 0.5, false) * 2; }, named("eval", {"x"}));
    KILN_CHECK_CLOSE(eval_dropout(ones({3})), full({3}, 2.0), Tolerance{});
    CHECK(explain(eval_dropout, ones({3})).graphs == 1);  // dropout in eval mode is no draw
    auto printer =
        compile([](Tensor x) { return from_vector<float>({static_cast<float>(x.str().size())}); },
                named("printer", {"x"}));
    CHECK(printer(zeros({2})).item<float>() > 0);
    CHECK(explain(printer, zeros({2})).entries[0].break_op == "printing a tensor");
  }

  TEST_CASE("tensors from a closure are captured, outputs may be tuples and vectors") {
    manual_seed(1);
    Tensor w = randn({4, 2});
    auto g = compile([w](Tensor x) { return std::make_tuple(matmul(x, w), x * 2); },
                     named("pair", {"x"}));
    Tensor x = randn({3, 4});
    auto [y, z] = g(x);
    KILN_CHECK_CLOSE(y, matmul(x, w), Tolerance{1e-6, 1e-6});
    KILN_CHECK_CLOSE(z, x * 2, Tolerance{});
    CHECK(explain(g, x).entries[0].graph.find("%captured0: f32[4,2]") != std::string::npos);

    auto split3 = compile([](Tensor x) { return chunk(x, 3, 0); }, named("split3", {"x"}));
    std::vector<Tensor> parts = split3(arange(6, DType::F32));
    REQUIRE(parts.size() == 3);
    KILN_CHECK_CLOSE(parts[2], from_vector<float>({4, 5}), Tolerance{});

    auto total =
        compile([](std::vector<Tensor> xs) { return xs[0] + xs[1]; }, named("total", {"xs"}));
    KILN_CHECK_CLOSE(total(std::vector<Tensor>{ones({2}), ones({2})}), full({2}, 2.0), Tolerance{});
    auto identity = compile([](Tensor x) { return x; }, named("identity", {"x"}));
    KILN_CHECK_CLOSE(identity(ones({2})), ones({2}), Tolerance{});
  }

  TEST_CASE("an exception while tracing propagates, leaves no entry, and the next call works") {
    bool throw_now = true;
    auto g = compile(
        [&](Tensor x) {
          if (throw_now) throw std::runtime_error("user failure");
          return x + 1;
        },
        named("flaky", {"x"}));
    CHECK(error_message([&] { (void)g(zeros({2})); }) == "<other exception: user failure>");
    throw_now = false;
    KILN_CHECK_CLOSE(g(zeros({2})), ones({2}), Tolerance{});
    CHECK(explain(g, zeros({2})).entries.size() == 1);
  }

  TEST_CASE("bad input to a compiled function fails with eager's message; the next call works") {
    auto add = compile([](Tensor a, Tensor b) { return exp(a + b); }, named("bad_add", {"a", "b"}));
    auto eager_add = [](Tensor a, Tensor b) { return exp(a + b); };
    // Mismatched shapes and dtypes: the same type rule runs while tracing, so the same words.
    const std::string shapes = error_message([&] { (void)add(zeros({2, 3}), zeros({4})); });
    CHECK(shapes == "add: shapes [2,3] and [4] cannot be broadcast together (dim 1: 3 vs 4)");
    CHECK(shapes == error_message([&] { (void)eager_add(zeros({2, 3}), zeros({4})); }));
    auto mm = compile([](Tensor a, Tensor b) { return matmul(a, b); }, named("bad_mm", {"a", "b"}));
    const std::string inner = error_message([&] { (void)mm(zeros({3, 4}), zeros({5, 6})); });
    CHECK(inner == "matmul: shapes [3,4] and [5,6] cannot be multiplied (4 != 5)");
    // A result too large to allocate: the clear error, not a crash, from the compiled path.
    const Tensor tall = zeros({int64_t{1} << 24, 1}), wide = zeros({1, int64_t{1} << 24});
    const std::string huge = error_message([&] { (void)add(tall, wide); });
    CHECK(huge ==
          "cannot allocate a f32 tensor of shape [16777216,16777216]: 281474976710656 "
          "elements is too many");
    CHECK(huge == error_message([&] { (void)eager_add(tall, wide); }));
    // NaN and infinities propagate exactly as in eager.
    Tensor special = make({NAN, INFINITY, -INFINITY, 0, 1e30, -1e30}, {6});
    KILN_CHECK_CLOSE(add(special, special), eager_add(special, special), Tolerance{});
    auto rows = compile([](Tensor x) { return softmax(x, -1) + max(x, {1}, true); },
                        named("nan_rows", {"x"}));
    Tensor grid = make({NAN, 1, 2, INFINITY, 1, 2, -INFINITY, -INFINITY, 0, 1, 2, 3}, {4, 3});
    KILN_CHECK_CLOSE(rows(grid), softmax(grid, -1) + max(grid, {1}, true), Tolerance{1e-6, 1e-6});
    // After all of that, good calls still compile and run.
    KILN_CHECK_CLOSE(add(zeros({2, 3}), zeros({3})), ones({2, 3}), Tolerance{});
  }

  TEST_CASE("a compiled function called inside another is traced into the outer graph") {
    auto inner = compile([](Tensor x) { return exp(x); }, named("inner", {"x"}));
    auto outer = compile([&](Tensor x) { return inner(x) + 1; }, named("outer", {"x"}));
    Tensor x = from_vector<float>({0, 1});
    KILN_CHECK_CLOSE(outer(x), exp(x) + 1, Tolerance{1e-6, 1e-6});
    Explanation ex = explain(outer, x);
    REQUIRE(ex.graphs == 1);
    CHECK(ex.entries[0].op_counts == std::vector<std::pair<std::string, int>>{
                                         {"add", 1}, {"broadcast", 1}, {"exp", 1}, {"full", 1}});
    CHECK(explain(inner, x).graphs == 1);  // the inner function still compiles on its own
  }

  TEST_CASE("a proxy kept past its trace is refused with a clear message") {
    Tensor leaked;
    auto g = compile(
        [&](Tensor x) {
          leaked = x * 2;
          return x;
        },
        named("leaky", {"x"}));
    (void)g(ones({2}));
    CHECK(error_message([&] { (void)(leaked + 1); }) ==
          "add: argument 0 is a tracing proxy of a compiled function, used outside its trace\n"
          "  hint: a function passed to compile() must not store its tensors for later use");
  }

  TEST_CASE("two threads with different shapes get correct results and one compile each") {
    auto g = compile([](Tensor x) { return tanh(x) * 2 + 1; }, named("threaded", {"x"}));
    std::vector<std::string> problems;
    std::mutex mutex;
    auto worker = [&](int64_t n) {
      Tensor x = linspace(-2, 2, n);
      Tensor want = tanh(x) * 2 + 1;
      for (int i = 0; i < 50; ++i)
        if (std::string m = compare(g(x), want, Tolerance{1e-6, 1e-6}); !m.empty()) {
          std::lock_guard lock(mutex);
          problems.push_back(m);
        }
    };
    std::thread a(worker, 100), b(worker, 37);
    a.join();
    b.join();
    CHECK(problems.empty());
    CHECK(explain(g, linspace(-2, 2, 100)).graphs == 2);
  }

  TEST_CASE("four threads share two compiled functions while shapes change under them") {
    // Recompiles under contention: every thread walks the same shapes in a different
    // order, so entries are added while other threads check guards and run kernels.
    auto pointwise =
        compile([](Tensor x) { return sigmoid(x) * x + 1; }, named("stress_pointwise", {"x"}));
    auto rows = compile([](Tensor x) { return softmax(x, -1) + layer_norm(x, {x.sizes()[1]}); },
                        named("stress_rows", {"x"}));
    const std::vector<Shape> shapes = {{3, 17}, {64, 33}, {1, 1}, {8, 1025}, {0, 5}};
    manual_seed(11);
    std::vector<Tensor> inputs;  // made here: the generator is not for concurrent use
    for (const Shape &shape : shapes) inputs.push_back(randn(shape));
    std::vector<std::string> problems;
    std::mutex mutex;
    auto worker = [&](size_t first) {
      for (int round = 0; round < 10; ++round)
        for (size_t k = 0; k < shapes.size(); ++k) {
          const Shape &shape = shapes[(first + k) % shapes.size()];
          const Tensor &x = inputs[(first + k) % shapes.size()];
          std::string a = compare(pointwise(x), sigmoid(x) * x + 1, Tolerance{1e-6, 1e-6});
          std::string b =
              compare(rows(x), softmax(x, -1) + layer_norm(x, {shape[1]}), Tolerance{1e-5, 1e-5});
          if (!a.empty() || !b.empty()) {
            std::lock_guard lock(mutex);
            problems.push_back(format_shape(shape) + ": " + a + b);
          }
        }
    };
    std::vector<std::thread> threads;
    for (size_t t = 0; t < 4; ++t) threads.emplace_back(worker, t);
    for (std::thread &t : threads) t.join();
    const std::string first = problems.empty() ? std::string() : problems.front();
    CHECK_MESSAGE(problems.empty(), first);
    // Sizes 0 and 1 are static entries; the first other shape is static too unless the
    // second recompile made both dims symbols already (which thread comes first decides).
    for (const int64_t graphs :
         {explain(pointwise, inputs[0]).graphs, explain(rows, inputs[0]).graphs}) {
      CHECK(graphs >= 3);
      CHECK(graphs <= 4);
    }
  }

  TEST_CASE("KILN_DUMP_DIR receives the traced graph, each changing pass and the guards") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / "kiln-dump-test";
    fs::remove_all(dir);
    set_dump_dir(dir.string());
    auto g = compile([](Tensor x) { return softmax(x, -1) * 1; }, named("dumped", {"x"}));
    (void)g(ones({2, 3}));
    set_dump_dir("");
    std::vector<std::string> files;
    for (const auto &e : fs::directory_iterator(dir)) files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 3);
    CHECK(files.front() == "dumped.0.00-traced.kir");
    CHECK(std::find(files.begin(), files.end(), "dumped.0.guards.txt") != files.end());
    CHECK(std::find_if(files.begin(), files.end(), [](const std::string &f) {
            return f.find("-decompose.kir") != std::string::npos;
          }) != files.end());
    std::ifstream traced(dir / "dumped.0.00-traced.kir");
    std::string first_line;
    std::getline(traced, first_line);
    CHECK(first_line == "graph @dumped(%x: f32[2,3]) -> f32[2,3]");
    fs::remove_all(dir);
  }

  TEST_CASE("every op case gives the eager answer when compiled") {
    int compiled = 0, eager = 0;
    for (const OpCase &c : all_op_cases()) {
      CAPTURE(c.name);
      auto g = compile(c.fn, named(std::string(op_name(c.op)), {"inputs"}));
      Tensor got;
      std::string error = error_message([&] { got = g(c.inputs); });
      REQUIRE_MESSAGE(error == "<no error>", op_name(c.op), ": ", c.name, ": ", error);
      std::string mismatch = compare(got, c.expected, c.tol);
      CHECK_MESSAGE(mismatch.empty(), op_name(c.op), ": ", c.name, ": ", mismatch);
      (explain(g, c.inputs).graphs > 0 ? compiled : eager)++;
    }
    MESSAGE(compiled, " op cases compiled, ", eager, " ran eagerly after a graph break");
    CHECK(compiled > eager);
  }
}

}  // namespace kiln::test
