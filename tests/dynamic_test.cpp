// Dynamic shapes: a dim seen to change becomes a symbol and later sizes reuse the entry;
// symbolic guards and their messages; dims that cannot be symbols stay static and say why;
// a function that branches on a size still gets the right answer at every size.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <thread>

#include "check.h"
#include "log_capture.h"

namespace kiln::test {
namespace {

CompileOptions options(std::string name, std::vector<std::string> args,
                       Dynamic dynamic = Dynamic::Auto, Backend backend = Backend::Cpu) {
  CompileOptions o;
  o.name = std::move(name);
  o.arg_names = std::move(args);
  o.dynamic = dynamic;
  o.backend = backend;
  return o;
}

Tensor mlp(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2) {
  return linear(relu(linear(x, w1, b1)), w2, b2);
}

TEST_SUITE("compile") {
  TEST_CASE("dynamic auto: a dim seen to change becomes a symbol, later sizes reuse the entry") {
    auto f = compile([](Tensor x) { return gelu(x * 2.0) + 1.0; }, options("act", {"x"}));
    manual_seed(0);
    LogCapture log("recompiles");
    for (int64_t n : {4, 6, 10, 3, 2, 1025}) {
      Tensor x = randn({n, 8});
      KILN_CHECK_CLOSE(f(x), gelu(x * 2.0) + 1.0, Tolerance{1e-5, 1e-5});
    }
    CHECK(log.lines() ==
          std::vector<std::string>{
              "recompiles: recompiling act: tensor 'x' (arg 0) size mismatch at dim 0: "
              "expected 4, got 6"});
    Explanation ex = explain(f, randn({7, 8}));
    REQUIRE(ex.entries.size() == 2);
    CHECK(ex.entries[0].symbols == 0);
    CHECK(ex.entries[1].symbols == 1);
    CHECK(ex.entries[1].sizes_seen == 6);  // 6, 10, 3, 2, 1025 and explain's 7
    CHECK(ex.entries[1].guards ==
          std::vector<std::string>{"tensor 'x' (arg 0): f32[s0,8] on cpu, contiguous",
                                   "symbol s0 >= 2: tensor 'x' (arg 0) dim 0"});
    CHECK(ex.entries[1].graph.find("graph @act(%x: f32[s0,8]) -> f32[s0,8]") != std::string::npos);
    CHECK(ex.entries[1].kernels == 1);
    CHECK(ex.entries[1].peak_bytes == 7 * 8 * 4);  // at explain()'s sizes
    CHECK(ex.str().find("dynamic: 1 symbol(s), 6 size(s) run so far") != std::string::npos);
  }

  TEST_CASE("dynamic auto with a runtime double: a varying batch and learning rate, two entries") {
    auto step = compile([](Tensor w, Tensor g, double lr) { return w - lr * g; },
                        {.name = "sgd", .arg_names = {"w", "g", "lr"}, .runtime_scalars = {2}});
    for (int i = 0; i < 20; ++i) {
      const int64_t n = 8 + i % 5;
      const double lr = 0.1 / (1 + i);
      const Tensor w = randn({n, 5}), g = randn({n, 5});
      KILN_CHECK_CLOSE(step(w, g, lr), w - lr * g, {1e-6, 1e-6});
    }
    const Tensor w = randn({9, 5});
    const Explanation ex = explain(step, w, w, 0.5);
    CHECK(ex.graphs == 2);  // the first size, then one symbolic entry for every other
    REQUIRE(ex.entries.size() == 2);
    CHECK(ex.entries[1].guards[0] == "tensor 'w' (arg 0): f32[s0,5] on cpu, contiguous");
    CHECK(ex.entries[1].guards[2] ==
          "scalar 'lr' (arg 2): a double, read at each call (a runtime input, not guarded by "
          "value)");
  }

  TEST_CASE("dynamic off: every size is its own entry") {
    auto f = compile([](Tensor x) { return x * 2.0; }, options("fixed", {"x"}, Dynamic::Off));
    for (int64_t n : {4, 6, 10}) KILN_CHECK_CLOSE(f(ones({n})), full({n}, 2.0), Tolerance{});
    CHECK(explain(f, ones({10})).entries.size() == 3);
  }

  TEST_CASE("dynamic on: every dim symbolic from the first compile, inner loops included") {
    // A softmax's row length is its kernel's inner loop: the kernel reads s1 at run time.
    auto f = compile([](Tensor x) { return softmax(x, -1); }, options("sm", {"x"}, Dynamic::On));
    manual_seed(1);
    LogCapture log("recompiles");
    for (auto [n, m] : {std::pair<int64_t, int64_t>{5, 16},
                        {9, 16},
                        {33, 16},
                        {9, 7},
                        {40, 100},
                        {3, 1025},
                        {2, 2}}) {
      CAPTURE(n);
      CAPTURE(m);
      Tensor x = randn({n, m}) * 4.0;
      KILN_CHECK_CLOSE(f(x), softmax(x, -1), Tolerance{1e-5, 1e-5});
    }
    CHECK(log.lines().empty());
    Explanation ex = explain(f, randn({9, 16}));
    REQUIRE(ex.entries.size() == 1);
    CHECK(ex.entries[0].guards[0] == "tensor 'x' (arg 0): f32[s0,s1] on cpu, contiguous");
  }

  TEST_CASE("dynamic on: leading dims when inner ones cannot be symbols") {
    // Half of a size is a shape computed from it: at the (odd) witness sizes it fails.
    auto pairs = [](Tensor x) { return sum(x.reshape({x.sizes()[0], x.sizes()[1] / 2, 2}), {2}); };
    auto f = compile(pairs, options("pairs", {"x"}, Dynamic::On));
    manual_seed(1);
    LogCapture log("recompiles");
    for (int64_t n : {5, 9, 33}) {
      Tensor x = randn({n, 16});
      KILN_CHECK_CLOSE(f(x), pairs(x), Tolerance{1e-5, 1e-5});
    }
    CHECK(log.lines() == std::vector<std::string>{
                             "recompiles: pairs: dynamic shapes: 'x' dim 0, 'x' dim 1 cannot all "
                             "be symbols: tracing with symbolic sizes failed: reshape: cannot "
                             "reshape [s0,s1] (100460273 elements) into [s0,5019,2] (100450266 "
                             "elements)"});
    Explanation ex = explain(f, randn({9, 16}));
    REQUIRE(ex.entries.size() == 1);
    CHECK(ex.entries[0].guards[0] == "tensor 'x' (arg 0): f32[s0,16] on cpu, contiguous");
  }

  TEST_CASE("dynamic: a symbol takes no size below 2, and shared symbols must stay equal") {
    auto f = compile([](Tensor x, Tensor y) { return x + y; }, options("pair", {"x", "y"}));
    (void)f(ones({4, 3}), ones({4, 3}));
    (void)f(ones({5, 3}), ones({5, 3}));
    Explanation ex = explain(f, ones({6, 3}), ones({6, 3}));
    REQUIRE(ex.entries.size() == 2);
    CHECK(ex.entries[1].guards ==
          std::vector<std::string>{"tensor 'x' (arg 0): f32[s0,3] on cpu, contiguous",
                                   "tensor 'y' (arg 1): f32[s0,3] on cpu, contiguous",
                                   "symbol s0 >= 2: tensor 'x' (arg 0) dim 0"});
    LogCapture log("recompiles");
    KILN_CHECK_CLOSE(f(ones({1, 3}), ones({1, 3})), full({1, 3}, 2.0), Tolerance{});
    CHECK_THROWS_WITH_AS((void)f(ones({6, 3}), ones({7, 3})),
                         "add: shapes [6,3] and [7,3] cannot be broadcast together (dim 0: 6 vs 7)",
                         Error);
    const auto lines = log.lines();
    REQUIRE(lines.size() >= 2);
    CHECK(lines[0] ==
          "recompiles: recompiling pair: tensor 'x' (arg 0) size mismatch at dim 0: expected 4, "
          "got 1; "
          "tensor 'x' (arg 0) size mismatch at dim 0: expected s0 >= 2, got 1");
    CHECK(lines[1].find("tensor 'y' (arg 1) size mismatch at dim 0: expected s0 = 6 (as tensor 'x' "
                        "dim 0), got 7") != std::string::npos);
  }

  TEST_CASE("dynamic: a function that branches on a size gets a static entry where it differs") {
    auto f = compile([](Tensor x) { return x.size(0) > 5 ? x * 2.0 : x * 3.0; },
                     options("branchy", {"x"}));
    LogCapture log("recompiles");
    for (int64_t n : {8, 9, 4, 7, 3, 4}) {
      const double want = n > 5 ? 2.0 : 3.0;
      KILN_CHECK_CLOSE(f(ones({n})), full({n}, want), Tolerance{});
    }
    CHECK(log.lines() ==
          std::vector<std::string>{
              "recompiles: recompiling branchy: tensor 'x' (arg 0) size mismatch at dim 0: "
              "expected 8, got 9",
              "recompiles: recompiling branchy: the dynamic entry does not hold at s0=4: the "
              "function traces a different graph there; tensor 'x' (arg 0) size mismatch at "
              "dim 0: expected 8, got 4",
              "recompiles: recompiling branchy: the dynamic entry does not hold at s0=3: the "
              "function traces a different graph there; tensor 'x' (arg 0) size mismatch at "
              "dim 0: expected 8, got 3; tensor 'x' (arg 0) size mismatch at dim 0: expected "
              "4, got 3"});
  }

  TEST_CASE("dynamic: a mean over a symbolic dim divides by the call's size") {
    // The count is a constant of the graph at each witness; the kernel reads it as 1/s0.
    auto f = compile([](Tensor x) { return mean(x, {0}); }, options("avg", {"x"}));
    auto g = compile([](Tensor x, Tensor y) { return mse_loss(x, y); },
                     options("mse", {"x", "y"}, Dynamic::On));
    auto h = compile([](Tensor x) { return layer_norm(x, {x.sizes()[1]}); },
                     options("ln", {"x"}, Dynamic::On));
    manual_seed(4);
    LogCapture log("recompiles");
    for (int64_t n : {4, 6, 10, 3, 77, 1000}) {
      CAPTURE(n);
      Tensor x = randn({n, 3}) + 1.0, y = randn({n, 3});
      KILN_CHECK_CLOSE(f(x), mean(x, {0}), Tolerance{1e-6, 1e-6});
      KILN_CHECK_CLOSE(g(x, y), mse_loss(x, y), Tolerance{1e-6, 1e-6});
      Tensor z = randn({5, n}) * 3.0;
      KILN_CHECK_CLOSE(h(z), layer_norm(z, {n}), Tolerance{1e-5, 1e-5});
    }
    CHECK(log.lines() == std::vector<std::string>{
                             "recompiles: recompiling avg: tensor 'x' (arg 0) size mismatch at "
                             "dim 0: expected 4, got 6"});
    CHECK(explain(f, randn({8, 3})).graphs == 2);
    CHECK(explain(g, randn({8, 3}), randn({8, 3})).graphs == 1);
    Explanation ex = explain(h, randn({5, 8}));
    REQUIRE(ex.graphs == 1);
    CHECK(ex.entries[0].guards[0] == "tensor 'x' (arg 0): f32[s0,s1] on cpu, contiguous");
  }

  TEST_CASE("dynamic: a transformer block with varying batch and sequence length compiles once") {
    // W8's block, smaller: attention's scores are [b, heads, s, s], so the softmax rows, the
    // q @ kT columns and the p @ v depth are all the symbol s.
    manual_seed(12);
    const int64_t d = 64, heads = 4, hd = 16;
    std::vector<Tensor> w;
    for (int i = 0; i < 4; ++i) {
      w.push_back(randn({d, d}) / 8.0);
      w.push_back(randn({d}) * 0.1);
    }
    const Tensor w1 = randn({4 * d, d}) / 8.0, b1 = randn({4 * d}) * 0.1;
    const Tensor w2 = randn({d, 4 * d}) / 16.0, b2 = randn({d}) * 0.1;
    auto block = [&](Tensor x) {
      const int64_t b = x.sizes()[0], s = x.sizes()[1];
      auto split = [&](const Tensor &t) {
        return t.reshape({b, s, heads, hd}).permute({0, 2, 1, 3});
      };
      Tensor z = layer_norm(x, {d});
      Tensor q = split(linear(z, w[0], w[1])), k = split(linear(z, w[2], w[3]));
      Tensor v = split(linear(z, w[4], w[5]));
      Tensor p = softmax(matmul(q, k.transpose(-2, -1)) / 4.0, -1);
      Tensor o = matmul(p, v).permute({0, 2, 1, 3}).reshape({b, s, d});
      Tensor h = x + linear(o, w[6], w[7]);
      return h + linear(gelu(linear(layer_norm(h, {d}), w1, b1)), w2, b2);
    };
    auto f = compile(block, options("block", {"x"}, Dynamic::On));
    LogCapture log("recompiles");
    for (auto [b, s] :
         {std::pair<int64_t, int64_t>{2, 16}, {3, 24}, {2, 40}, {5, 33}, {2, 2}, {4, 129}}) {
      CAPTURE(b);
      CAPTURE(s);
      Tensor x = randn({b, s, d});
      KILN_CHECK_CLOSE(f(x), block(x), Tolerance{1e-4, 1e-4});
    }
    // Every dim first: the weights fix the hidden size, so then all but the last.
    CHECK(log.lines() == std::vector<std::string>{
                             "recompiles: block: dynamic shapes: 'x' dim 0, 'x' dim 1, 'x' dim 2 "
                             "cannot all be symbols: tracing with symbolic sizes failed: "
                             "layer_norm: normalized_shape [64] must match the trailing dims of "
                             "the input [s0,s1,s2]"});
    Explanation ex = explain(f, randn({3, 7, d}));
    REQUIRE(ex.graphs == 1);
    CHECK(ex.entries[0].guards[0] == "tensor 'x' (arg 0): f32[s0,s1,64] on cpu, contiguous");
  }

  TEST_CASE("dynamic: a tensor made from data while tracing keeps its sizes static") {
    auto f = compile(
        [](Tensor x) {
          return x * from_vector(std::vector<float>{1.0f / static_cast<float>(x.size(0))});
        },
        options("fromdata", {"x"}));
    LogCapture log("recompiles");
    for (int64_t n : {4, 6, 10, 3})
      KILN_CHECK_CLOSE(f(ones({n})), full({n}, 1.0 / n), Tolerance{1e-6, 1e-6});
    const auto lines = log.lines();
    REQUIRE(lines.size() >= 2);
    CHECK(
        lines[1] ==
        "recompiles: fromdata: dynamic shapes: 'x' dim 0 cannot all be symbols: the function makes "
        "tensors from data while tracing (they would be constants of one size)");
    for (const auto &e : explain(f, ones({3})).entries) CHECK(e.symbols == 0);
  }

  TEST_CASE("dynamic: witness traces leave the random stream where Dynamic::Off leaves it") {
    auto run = [](Dynamic dynamic) {
      auto f = compile([](Tensor x) { return dropout(x, 0.5, true) + x; },
                       options("drop", {"x"}, dynamic));
      manual_seed(5);
      std::vector<float> out;
      for (int64_t n : {4, 6, 8}) {
        const auto v = f(ones({n})).tolist<float>();
        out.insert(out.end(), v.begin(), v.end());
      }
      return out;
    };
    CHECK(run(Dynamic::Auto) == run(Dynamic::Off));
  }

  TEST_CASE("dynamic: a model's batch dim, with captured weights, on both backends") {
    manual_seed(2);
    Tensor w1 = randn({10, 5}), b1 = randn({10}), w2 = randn({1, 10}), b2 = randn({1});
    for (Backend backend : {Backend::Cpu, Backend::Reference}) {
      CAPTURE(static_cast<int>(backend));
      auto f = compile([&](Tensor x) { return mlp(x, w1, b1, w2, b2); },
                       options("tiny", {"x"}, Dynamic::Auto, backend));
      for (int64_t n : {64, 3, 17, 1000, 2, 64}) {
        Tensor x = randn({n, 5});
        KILN_CHECK_CLOSE(f(x), mlp(x, w1, b1, w2, b2), Tolerance{1e-5, 1e-5});
      }
      Explanation ex = explain(f, randn({5, 5}));
      REQUIRE(ex.entries.size() == 2);
      CHECK(ex.entries[1].symbols == 1);
    }
  }

  TEST_CASE("dynamic: a batch dim through generated matmul kernels and their epilogues") {
    manual_seed(4);
    // Weights scaled by 1/sqrt(fan_in), as in WORKLOADS.md: outputs stay near 1, so the
    // tolerance measures the kernels, not the cancellation in sums of hundreds of terms.
    Tensor w1 = randn({300, 200}) / std::sqrt(200.0), b1 = randn({300});
    Tensor w2 = randn({40, 300}) / std::sqrt(300.0), b2 = randn({40});
    auto f = compile([&](Tensor x) { return mlp(x, w1, b1, w2, b2); },
                     options("wide", {"x"}, Dynamic::On));
    for (int64_t n : {64, 3, 17, 1000, 2}) {
      CAPTURE(n);
      Tensor x = randn({n, 200});
      KILN_CHECK_CLOSE(f(x), mlp(x, w1, b1, w2, b2), Tolerance{1e-4, 1e-4});
    }
    Explanation ex = explain(f, randn({5, 200}));
    REQUIRE(ex.entries.size() == 1);
    CHECK(ex.entries[0].symbols == 1);
    CHECK(ex.entries[0].kernels == 2);
  }

  TEST_CASE("dynamic: a matmul's rows, depth and columns may all be symbols") {
    auto fn = [](Tensor x, Tensor w) { return relu(matmul(x, w)); };
    auto depth = compile(fn, options("depth", {"x", "w"}));
    manual_seed(6);
    for (int64_t k : {300, 17, 1000}) {
      CAPTURE(k);
      Tensor x = randn({40, k}), w = randn({k, 50}) / std::sqrt(static_cast<double>(k));
      KILN_CHECK_CLOSE(depth(x, w), fn(x, w), Tolerance{1e-4, 1e-4});
    }
    Explanation ex = explain(depth, randn({40, 9}), randn({9, 50}));
    REQUIRE(ex.entries.size() == 2);
    CHECK(ex.entries[1].symbols == 1);
    CHECK(ex.entries[1].guards.back() == "symbol s0 >= 2: tensor 'x' (arg 0) dim 1");
    // The column count is the epilogue's row stride: the micro-kernel reads it at run time,
    // at widths that are and are not whole register tiles.
    LogCapture log("recompiles");
    auto cols = compile(fn, options("cols", {"x", "w"}));
    Tensor x = randn({40, 300});
    for (int64_t n : {70, 90, 32, 33, 2, 129}) {
      CAPTURE(n);
      Tensor w = randn({300, n});
      KILN_CHECK_CLOSE(cols(x, w), fn(x, w), Tolerance{1e-4, 1e-4});
    }
    CHECK(log.lines() == std::vector<std::string>{
                             "recompiles: recompiling cols: tensor 'w' (arg 1) size mismatch at "
                             "dim 1: expected 70, got 90"});
    ex = explain(cols, x, randn({300, 7}));
    REQUIRE(ex.entries.size() == 2);
    CHECK(ex.entries[1].guards[1] == "tensor 'w' (arg 1): f32[300,s0] on cpu, contiguous");
  }

  TEST_CASE("dynamic: a symbolic output streams or not by its bytes at each call") {
    // 8 MiB is where outputs stream (non-temporal stores): the kernel decides at run time,
    // on either side of it, and at sizes that are not whole vectors or cache lines.
    auto f = compile([](Tensor x) { return exp(x) * 2.0; }, options("f64s", {"x"}, Dynamic::On));
    for (int64_t n : {int64_t{1000}, int64_t{37}, (int64_t{8} << 20) / 8 + 3,
                      (int64_t{8} << 20) / 8 - 1, int64_t{2}}) {
      CAPTURE(n);
      Tensor x = randn({n}).to(DType::F64);
      KILN_CHECK_CLOSE(f(x), exp(x) * 2.0, Tolerance{1e-12, 1e-12});
    }
    Explanation ex = explain(f, randn({5}).to(DType::F64));
    REQUIRE(ex.entries.size() == 1);
    CHECK(ex.entries[0].symbols == 1);
  }

  TEST_CASE("dynamic: a symbolic entry from the disk cache runs at new sizes") {
    // The artifact holds the symbolic kernel steps (extent and work as polynomials): a new
    // process's compile() loads it and resizes it like the one that compiled it.
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / fmt::format("kiln_dynamic_cache_{}", getpid());
    std::filesystem::remove_all(dir);
    set_cache_dir(dir.string());
    auto fn = [](Tensor x) { return softmax(x * 2.0, -1); };
    manual_seed(8);
    std::string origin;
    for (int round = 0; round < 2; ++round) {
      auto f = compile(fn, options("cached_sm", {"x"}, Dynamic::On));
      for (auto [n, m] : {std::pair<int64_t, int64_t>{3, 7}, {40, 129}}) {
        Tensor x = randn({n, m});
        KILN_CHECK_CLOSE(f(x), fn(x), Tolerance{1e-5, 1e-5});
      }
      Explanation ex = explain(f, randn({4, 4}));
      REQUIRE(ex.entries.size() == 1);
      CHECK(ex.entries[0].symbols == 2);
      origin = ex.entries[0].origin;
    }
    CHECK(origin.starts_with("loaded from the disk cache in "));
    set_cache_dir("");
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  TEST_CASE("dynamic: threads sharing one dynamic function, each size admitted once") {
    auto f = compile([](Tensor x) { return sigmoid(x) * x; }, options("threads", {"x"}));
    (void)f(ones({2, 4}));
    (void)f(ones({3, 4}));  // the dynamic entry
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          const int64_t n = 2 + (t * 7 + i * 3) % 11;
          Tensor x = full({n, 4}, 0.25 * (t + 1));
          Tensor got = f(x), want = sigmoid(x) * x;
          if (!(max(abs(got - want)).item<double>() <= 1e-6)) ++wrong;
        }
      });
    for (auto &th : threads) th.join();
    CHECK(wrong == 0);
    Explanation ex = explain(f, ones({5, 4}));
    CHECK(ex.entries.size() == 2);
    CHECK(ex.entries[1].sizes_seen == 10);  // 3..12; size 2 is entry 0, static
  }

  TEST_CASE("dynamic: reshapes and views through a symbolic dim") {
    auto f =
        compile([](Tensor x) { return sum(x.reshape({x.size(0), -1}).transpose(0, 1), {1}) * 0.5; },
                options("views", {"x"}));
    manual_seed(3);
    for (int64_t n : {2, 3, 5, 8}) {
      Tensor x = randn({n, 2, 4});
      KILN_CHECK_CLOSE(f(x), sum(x.reshape({n, -1}).transpose(0, 1), {1}) * 0.5,
                       Tolerance{1e-5, 1e-5});
    }
    (void)explain(f, randn({4, 2, 4}));
  }
}

}  // namespace
}  // namespace kiln::test
