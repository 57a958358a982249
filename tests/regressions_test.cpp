// Programs written from outside that once gave wrong answers or killed the process (issue 12),
// each compiled on every backend, static and dynamic, against eager and a hand-computed value.
#include <doctest/doctest.h>

#include "check.h"
#include "log_capture.h"

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
    check_everywhere([](Tensor y) { return sub(y, prod(y, {1, 2})); }, randn({3, 2, 3}), {1e-5, 1e-5});
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
    KILN_CHECK_CLOSE(cross_entropy(l2, t2, "mean", -100, 0.1), make({0.9 * nll + 0.1 * uniform}, {}),
                     Tolerance{1e-6, 1e-6});
    KILN_CHECK_CLOSE(cross_entropy(l2, t2, "none", -100, 0.1), make({0.9 * nll + 0.1 * uniform, 0}, {2}),
                     Tolerance{1e-6, 1e-6});

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
          CHECK(select(select(select(none, 0, n), 0, i), 0, j).item<float>() == doctest::Approx(want).epsilon(1e-5));
          total += want;
          counted += cls.item<int64_t>() != -100;
        }
    CHECK(cross_entropy(logits, target, "sum", -100, 0.2).item<float>() == doctest::Approx(total).epsilon(1e-5));
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
}

}  // namespace kiln::test
