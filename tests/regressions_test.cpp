// Programs written from outside that once gave wrong answers or killed the process (issue 12),
// each compiled on every backend, static and dynamic, against eager and a hand-computed value.
#include <doctest/doctest.h>

#include "check.h"
#include "log_capture.h"
#include "tracer/trace.h"

namespace kiln::test {
namespace {

// Compiled (Cpu and Reference, dynamic Off and On) must equal eager on x, twice in a row.
template <class Fn>
void check_everywhere(Fn fn, const Tensor &x, Tolerance tol = {1e-6, 1e-6}) {
  const Tensor want = fn(x);
  for (Backend backend : {Backend::Cpu, Backend::Reference})
    for (Dynamic dynamic : {Dynamic::Off, Dynamic::On}) {
      CAPTURE(static_cast<int>(backend));
      CAPTURE(static_cast<int>(dynamic));
      auto f = compile(fn, {.name = "g", .backend = backend, .dynamic = dynamic});
      KILN_CHECK_CLOSE(f(x), want, tol);
      KILN_CHECK_CLOSE(f(x), want, tol);
    }
}

}  // namespace

TEST_SUITE("compile") {
  TEST_CASE("a reduction without keepdim broadcast back lands where NumPy puts it") {
    // max(x, 1) is [3]; broadcasting aligns it with x's last dim, so it is a row of maxima.
    const Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape{3, 3});
    auto g = [](Tensor x) { return sub(x, max(x, 1)); };
    KILN_CHECK_CLOSE(g(x), make({-2, -4, -6, 1, -1, -3, 4, 2, 0}, {3, 3}), Tolerance{});
    check_everywhere(g, x);
    // keepdim=true keeps it a column.
    check_everywhere([](Tensor x) { return sub(x, max(x, 1, true)); }, x);
    // Reduced dims in front: the result does belong on the rows.
    check_everywhere([](Tensor x) { return sub(x, max(x, 0)); }, x);

    manual_seed(0);
    check_everywhere([](Tensor y) { return add(std(y, 1), y); }, randn({2, 2, 5, 2}), {1e-5, 1e-5});
    check_everywhere([](Tensor y) { return sub(y, prod(y, {1, 2})); }, randn({3, 2, 3}),
                     {1e-5, 1e-5});
    check_everywhere([](Tensor y) { return le(max(y, 1), y); },
                     from_vector<int64_t>({5, 1, 7, 2, 8, 3, 9, 4, 6}, Shape{3, 3}));
  }

  TEST_CASE("a view of a value read beside it never makes fusion form a cycle") {
    auto g = [](Tensor x) {
      Tensor a = neg(x);
      return (a + select(a, 0, 0)) * a;
    };
    const Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
    // a = -x; a[0] = [-1,-2,-3]; (a + a[0]) * a
    KILN_CHECK_CLOSE(g(x), make({2, 8, 18, 20, 35, 54}, {2, 3}), Tolerance{});
    check_everywhere(g, x);
  }

  TEST_CASE("linear with zero in-features returns the bias broadcast") {
    const Tensor w = zeros({4, 0}), b = make({1, 2, 3, 4}, {4});
    const Tensor x3 = zeros({2, 3, 0});
    const Tensor y = linear(x3, w, b);
    CHECK(y.sizes() == Shape{2, 3, 4});
    KILN_CHECK_CLOSE(y, broadcast_to(b, {2, 3, 4}), Tolerance{});
    KILN_CHECK_CLOSE(linear(zeros({5, 0}), w, b), broadcast_to(b, {5, 4}), Tolerance{});
    CHECK(linear(zeros({0, 0}), w, b).sizes() == Shape{0, 4});
    auto f = [](Tensor x, Tensor w, Tensor b) { return linear(x, w, b); };
    KILN_CHECK_CLOSE(compile(f)(x3, w, b), y, Tolerance{});
  }

  TEST_CASE("cross_entropy takes class dims beyond 2-D logits and label smoothing") {
    // logits [1, 2] = [0, ln 3]: p = [1/4, 3/4]; target 1.
    const Tensor l = make({0, std::log(3.0)}, {1, 2});
    const Tensor t = from_vector<int64_t>({1}, Shape{1});
    const double nll = -std::log(0.75), uniform = (std::log(4.0) + std::log(4.0 / 3.0)) / 2;
    KILN_CHECK_CLOSE(cross_entropy(l, t), make({nll}, {}), Tolerance{1e-6, 1e-6});
    KILN_CHECK_CLOSE(cross_entropy(l, t, "mean", -100, 0.1), make({0.9 * nll + 0.1 * uniform}, {}),
                     Tolerance{1e-6, 1e-6});
    // A smoothed ignored row counts for nothing, in the sum and in the mean's divisor.
    const Tensor l2 = make({0, std::log(3.0), 5, -1}, {2, 2});
    const Tensor t2 = from_vector<int64_t>({1, -100}, Shape{2});
    KILN_CHECK_CLOSE(cross_entropy(l2, t2, "mean", -100, 0.1),
                     make({0.9 * nll + 0.1 * uniform}, {}), Tolerance{1e-6, 1e-6});
    KILN_CHECK_CLOSE(cross_entropy(l2, t2, "none", -100, 0.1),
                     make({0.9 * nll + 0.1 * uniform, 0}, {2}), Tolerance{1e-6, 1e-6});

    // [N, C, d1, d2] against per-position 2-D losses.
    manual_seed(0);
    const Tensor logits = randn({2, 3, 2, 2});
    const Tensor target = from_vector<int64_t>({0, 2, 1, -100, 2, 2, 0, 1}, Shape{2, 2, 2});
    const Tensor none = cross_entropy(logits, target, "none", -100, 0.2);
    REQUIRE(none.sizes() == Shape{2, 2, 2});
    double total = 0;
    int counted = 0;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 2; ++j) {
          const Tensor row = select(select(select(logits, 0, n), 1, i), 1, j).reshape({1, 3});
          const Tensor cls = select(select(select(target, 0, n), 0, i), 0, j).reshape({1});
          const double want = cross_entropy(row, cls, "sum", -100, 0.2).item<float>();
          CHECK(select(select(select(none, 0, n), 0, i), 0, j).item<float>() ==
                doctest::Approx(want).epsilon(1e-5));
          total += want;
          counted += cls.item<int64_t>() != -100;
        }
    CHECK(cross_entropy(logits, target, "sum", -100, 0.2).item<float>() ==
          doctest::Approx(total).epsilon(1e-5));
    CHECK(cross_entropy(logits, target, "mean", -100, 0.2).item<float>() ==
          doctest::Approx(total / counted).epsilon(1e-5));
    auto f = [](Tensor l, Tensor t) { return cross_entropy(l, t, "mean", -100, 0.2); };
    KILN_CHECK_CLOSE(compile(f)(logits, target), cross_entropy(logits, target, "mean", -100, 0.2),
                     Tolerance{1e-5, 1e-5});

    CHECK(error_message([&] { (void)cross_entropy(logits, zeros({2, 2}, DType::I64)); }) ==
          "cross_entropy: target must have shape [2,2,2] for logits [2,3,2,2], got [2,2]");
    CHECK(error_message([&] { (void)cross_entropy(l, t, "mean", -100, 1.5); }) ==
          "cross_entropy: label_smoothing must be in [0, 1], got 1.5");
  }

  TEST_CASE("a dynamic entry holds at the sizes it was made at") {
    // Each once made a symbolic entry that refused its own first call and left a static
    // entry beside it: a dead value sized from a symbol, and views ending at a dim's end.
    manual_seed(0);
    const Tensor x = randn({5, 3}), y = randn({7, 3});
    auto dead_cat = [](Tensor x) {
      Tensor unused = cat({x, x}, 0);
      return exp(x);
    };
    auto select_last = [](Tensor x) { return exp(select(x, 0, 4)); };
    auto narrow_last = [](Tensor x) { return exp(narrow(x, 0, 2, 3)); };
    auto check = [&](auto fn, std::string what) {
      CAPTURE(what);
      auto f = compile(fn, {.name = "g", .dynamic = Dynamic::On});
      KILN_CHECK_CLOSE(f(x), fn(x), Tolerance{1e-6, 1e-6});
      KILN_CHECK_CLOSE(f(x), fn(x), Tolerance{1e-6, 1e-6});
      KILN_CHECK_CLOSE(f(y), fn(y), Tolerance{1e-6, 1e-6});
      const Explanation ex = explain(f, y);
      REQUIRE(ex.entries.size() == 1);
      CHECK(ex.entries[0].symbols >= 1);
      CHECK(ex.entries[0].sizes_seen == 2);
    };
    check(dead_cat, "dead cat");
    check(select_last, "select of the last row");
    check(narrow_last, "narrow to the end");
  }

  TEST_CASE("a tensor captured by reference: in-place writes are seen, reassignment retraces") {
    LogCapture logs("recompiles");
    const Tensor x = ones({4});
    Tensor w = ones({4});
    double scale = 2.0;
    auto f = compile([&w, &scale](Tensor x) { return x * w * scale; }, {.name = "g"});
    KILN_CHECK_CLOSE(f(x), full({4}, 2.0), Tolerance{});
    w.copy_(full({4}, 3.0));  // the same storage: the compiled entry reads it
    KILN_CHECK_CLOSE(f(x), full({4}, 6.0), Tolerance{});
    CHECK(explain(f, x).entries.size() == 1);
    w = full({4}, 5.0);  // another tensor: the old one's owner is gone, the entry is stale
    KILN_CHECK_CLOSE(f(x), full({4}, 10.0), Tolerance{});
    const Explanation ex = explain(f, x);
    REQUIRE(ex.entries.size() == 1);  // the stale entry went, with the old weights it held
    CHECK(ex.entries[0].captures ==
          std::vector<std::string>{"tensor %captured0 f32[4], bound to its storage at trace time",
                                   "scalar constants: 2.0"});
    const std::vector<std::string> lines = logs.lines();
    REQUIRE(lines.size() == 2);  // the reason and its hint
    CHECK(lines[0] ==
          "recompiles: recompiling g: captured tensor %captured0 f32[4] is no longer held by the "
          "closure that held it at trace time (its variable was reassigned or destroyed)");
    CHECK(lines[1] == "recompiles:   hint: pass the tensor as an argument, or update it in place");
    // A scalar is a constant of the trace, as explain() says: changing it is not seen.
    scale = 3.0;
    KILN_CHECK_CLOSE(f(x), full({4}, 10.0), Tolerance{});
    // A tensor made inside the function is a constant too, never stale.
    auto h = compile([](Tensor x) { return x + from_vector<float>({1, 2, 3, 4}); }, {.name = "h"});
    (void)h(x);
    (void)h(x);
    CHECK(explain(h, x).entries.size() == 1);
  }

  TEST_CASE("copy_ writes in place, and is a graph break inside compile()") {
    Tensor a = zeros({2, 3});
    Tensor row = a.select(0, 1);
    row.copy_(make({1, 2, 3}, {3}));
    KILN_CHECK_CLOSE(a, make({0, 0, 0, 1, 2, 3}, {2, 3}), Tolerance{});
    a.copy_(make({7}, {1}, DType::F64));  // broadcast and converted
    KILN_CHECK_CLOSE(a, full({2, 3}, 7.0), Tolerance{});
    CHECK(
        error_message([&] { (void)zeros({3}).expand({2, 3}).copy_(ones({2, 3})); }) ==
        "copy_: cannot write into [2,3]: its elements share memory along dim 0 (an expanded view)");
    auto f = compile([](Tensor x) { return zeros({2}).copy_(x) + 1.0; }, {.name = "f"});
    KILN_CHECK_CLOSE(f(ones({2})), full({2}, 2.0), Tolerance{});
    const Explanation ex = explain(f, ones({2}));
    REQUIRE(ex.entries.size() == 1);
    CHECK(ex.entries[0].break_op == "copy_");
  }

  TEST_CASE("rough edges: names, sizes near overflow, repeated reasons, many operands") {
    // Duplicate arg_names would print IR that does not parse back.
    CHECK(error_message([] {
            (void)compile([](Tensor a, Tensor b) { return a + b; },
                          {.name = "f", .arg_names = {"x", "x"}});
          }) ==
          "f: arg_names[1] 'x' names two arguments (as IR value '%x'): expected unique names");
    CHECK(error_message([] {
            auto f = compile([](Tensor a, Tensor b) { return a + b; },
                             {.name = "f", .arg_names = {"arg1"}});
            (void)f(ones({2}), ones({2}));
          }) ==
          "f: two tensor arguments are both named '%arg1' in the IR: expected unique arg_names");

    // Counts that overflow are reported as what they are, not as wrapped numbers.
    CHECK(error_message([] { (void)arange(0.0, 1e300, 1.0); }) ==
          "arange: start=0 end=1e+300 step=1 gives 1e+300 elements: expected at most 2^62");
    CHECK(error_message([] { (void)narrow(ones({5}), 0, 2, INT64_MAX); }) ==
          "narrow: start 2 and length 9223372036854775807 are out of range for dim 0 of size 5");
    CHECK(arange(INT64_MIN / 2, INT64_MIN / 2 + 3).tolist<int64_t>() ==
          std::vector<int64_t>{INT64_MIN / 2, INT64_MIN / 2 + 1, INT64_MIN / 2 + 2});
    CHECK(error_message([] { (void)arange(INT64_MIN, INT64_MAX); }) ==
          "arange: start=-9.223372036854776e+18 end=9.223372036854776e+18 step=1 gives 1.84467e+19 "
          "elements: "
          "expected at most 2^62");

    // A parameter's number counts the function's parameters, as its name does.
    LogCapture logs("recompiles");
    auto g = compile(
        [](std::vector<Tensor> xs, double alpha) { return (xs[0] + xs[1] + xs[2]) * alpha; },
        {.name = "g", .dynamic = Dynamic::Off});
    const std::vector<Tensor> xs = {ones({2}), ones({2}), ones({2})};
    (void)g(xs, 0.5);
    CHECK(explain(g, xs, 0.5).entries[0].guards.back() == "scalar 'arg1' (arg 1) == 0.5");
    (void)g(xs, 0.25);
    // Both entries fail alike at the first tensor: the reason is said once.
    (void)g(std::vector<Tensor>{ones({3}), ones({3}), ones({3})}, 0.5);
    const std::vector<std::string> lines = logs.lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[1] ==
          "recompiles: recompiling g: tensor 'arg0[0]' (arg 0) size mismatch at dim 0: expected 2, "
          "got 3");

    // cat has no operand cap.
    std::vector<Tensor> parts(3000, ones({1}));
    CHECK(sum(cat(parts, 0)).item<float>() == 3000);
    auto c = compile([](std::vector<Tensor> ps) { return cat(ps, 0) * 2.0; }, {.name = "c"});
    CHECK(sum(c(parts)).item<float>() == 6000);
  }

  TEST_CASE("the allocator's cache can be emptied and capped") {
    const int64_t limit = memory_stats().cache_limit_bytes;
    {
      Tensor big = zeros({1 << 20});
    }  // 4 MiB freed into the cache
    CHECK(memory_stats().cached_bytes >= (int64_t{4} << 20));
    empty_cache();
    CHECK(memory_stats().cached_bytes == 0);
    set_cache_limit(int64_t{1} << 20);  // 1 MiB: a 4 MiB block is not kept
    {
      Tensor big = zeros({1 << 20});
    }
    CHECK(memory_stats().cached_bytes <= (int64_t{1} << 20));
    CHECK(memory_stats().cache_limit_bytes == (int64_t{1} << 20));
    CHECK(error_message([] { set_cache_limit(-1); }) ==
          "set_cache_limit: expected a non-negative number of bytes, got -1");
    set_cache_limit(limit);
  }

  TEST_CASE("an internal error while compiling runs that guard set eagerly, once said") {
    LogCapture logs("");
    set_strict_internal_errors(false);  // the test binary runs strict
    // A failed check inside kiln, as a bug in the tracer or a pass would raise it.
    auto f = compile(
        [](Tensor x) {
          KILN_CHECK(tracer::active() == nullptr, "injected for the test");
          return x + 1.0;
        },
        {.name = "f"});
    KILN_CHECK_CLOSE(f(ones({3})), full({3}, 2.0), Tolerance{});
    KILN_CHECK_CLOSE(f(ones({3})), full({3}, 2.0), Tolerance{});
    const Explanation ex = explain(f, ones({3}));
    REQUIRE(ex.entries.size() == 1);
    CHECK_FALSE(ex.entries[0].compiled);
    CHECK(ex.entries[0].break_op.empty());
    CHECK(ex.entries[0].break_reason.find("internal error at ") == 0);
    CHECK(ex.str().find("  not compiled: internal error at ") != std::string::npos);
    const std::vector<std::string> lines = logs.lines();
    REQUIRE(lines.size() == 2);  // said once, with its note line
    CHECK(lines[0].starts_with(
        "warning: f: kiln failed to compile this function, so it runs eagerly: internal "
        "error at "));
    CHECK(lines[0].ends_with("injected for the test"));
    set_strict_internal_errors(true);
    auto strict = compile(
        [](Tensor x) {
          KILN_CHECK(tracer::active() == nullptr, "injected for the test");
          return x + 1.0;
        },
        {.name = "strict"});
    CHECK(error_message([&] { (void)strict(ones({3})); }).find("internal error at ") == 0);
  }

  TEST_CASE("a row kernel with two outputs stages a value once and fills every row it reads") {
    // Found by the fuzzer (seeds 158, 931, 1653, 3005, 20301, 20347): both outputs staged
    // sigmoid(x) in rows of their own, and the second row was never written (NaN, garbage).
    auto g = [](Tensor x) {
      const Tensor s = sigmoid(x);
      return std::make_tuple(s * std(s, 0, false, true), min(x, 0) * x);
    };
    manual_seed(0);
    for (int64_t n : {4, 37, 1000}) {
      const Tensor x = randn({n});
      const auto [want0, want1] = g(x);
      auto f = compile(g, {.name = "g"});
      for (int rep = 0; rep < 3; ++rep) {
        const auto [got0, got1] = f(x);
        KILN_CHECK_CLOSE(got0, want0, Tolerance{1e-5, 1e-5});
        KILN_CHECK_CLOSE(got1, want1, Tolerance{1e-6, 1e-6});
      }
    }
  }
}

}  // namespace kiln::test
