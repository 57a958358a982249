// Symbolic sizes: polynomial algebra in canonical form, text round trips, fitting a value
// seen at two witness sets, and size constants (a mean's 1/n, a gradient's 2/n).
#include "ir/sym_expr.h"

#include <doctest/doctest.h>

#include <limits>

#include "ir/diag.h"
#include "ir/substitute_sizes.h"

namespace kiln::ir {
namespace {

const SymExpr s0 = SymExpr::symbol(0), s1 = SymExpr::symbol(1), s2 = SymExpr::symbol(2);

TEST_SUITE("ir") {
  TEST_CASE("symbolic sizes: arithmetic is canonical, so equal polynomials compare equal") {
    CHECK((s0 * s1 + 3) == (3 + s1 * s0));
    CHECK((s0 + s1) * (s0 + s1) == s0 * s0 + 2 * s0 * s1 + s1 * s1);
    CHECK((s0 - s0) == 0);
    CHECK((s0 - s0).is_constant());
    CHECK(SymExpr(7) * 6 == 42);
    CHECK((64 * s0 * s1).symbols() == 0b11);
    CHECK((s0 * 0 + 5).is_constant());
    CHECK_THROWS_AS((void)s0.constant(), InternalError);
  }

  TEST_CASE("symbolic sizes: text, and the parser reads it back") {
    CHECK((64 * s0 * s1 + 3).text() == "64*s0*s1 + 3");
    CHECK((s0 * s0).text() == "s0^2");
    CHECK((s1 - 1).text() == "s1 - 1");
    CHECK((SymExpr(-2) * s2).text() == "-2*s2");
    CHECK(SymExpr(-5).text() == "-5");
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    CHECK((s0 + kMin).text() == "s0 - 9223372036854775808");
    CHECK((s0 * kMin).text() == "-9223372036854775808*s0");
    CHECK_THROWS_AS((void)(s0 * s0 * s0 * s0 * s0 * s0 * s0 * s0 * s0), InternalError);
    CHECK(fmt::format("[{}]", s0 * 4) == "[4*s0]");
    for (const SymExpr &e : {64 * s0 * s1 + 3, s0 * s0 * s1 - 7 * s1 + 1, SymExpr(-2) * s2,
                             SymExpr(0), SymExpr(12), s0 * s1 * s2 * 8})
      CHECK(SymExpr::parse(e.text()) == e);
    CHECK(SymExpr::parse(" 2 * s0 * 3 ") == 6 * s0);
    CHECK(SymExpr::parse("s1^3") == s1 * s1 * s1);
    try {
      (void)SymExpr::parse("s0 + x");
      FAIL("parsed");
    } catch (const Error &e) {
      CHECK(std::string(e.what()) ==
            "symbolic size 's0 + x': expected a number or a symbol at column 6");
    }
    CHECK_THROWS_AS((void)SymExpr::parse("s9"), Error);
    CHECK_THROWS_AS((void)SymExpr::parse("s0 * "), Error);
    CHECK_THROWS_AS((void)SymExpr::parse("2 s0"), Error);
  }

  TEST_CASE("symbolic sizes: evaluation at a call's sizes") {
    const std::vector<int64_t> sizes = {3, 5, 7};
    CHECK((64 * s0 * s1 + 3).evaluate(sizes) == 963);
    CHECK((s2 * s2 - s0).evaluate(sizes) == 46);
    CHECK_THROWS_AS((void)(s0 * s1).evaluate(std::vector<int64_t>{3}), InternalError);
    const std::vector<int64_t> big = {int64_t{1} << 40, int64_t{1} << 40};
    CHECK_THROWS_AS((void)(s0 * s1).evaluate(big), InternalError);  // overflows int64
  }

  TEST_CASE("symbolic sizes: a value at two witness sets fits the polynomial that made it") {
    const std::vector<int64_t> a = witness_sizes(3, 0), b = witness_sizes(3, 1);
    for (const SymExpr &e : {SymExpr(17), s0, 64 * s0 * s1, s1 * s1, 8 * s0 * s2 * s2, 64 * s1 - 64,
                             s0 * s1 * s2 * 4, SymExpr(-3) * s2 + 100}) {
      CAPTURE(e.text());
      const std::optional<SymExpr> fit = fit_sym_expr(e.evaluate(a), e.evaluate(b), a, b);
      REQUIRE(fit.has_value());
      CHECK(*fit == e);
    }
    // A sum of two symbols, or a half: no form kernels use, so no fit (the dim stays static).
    CHECK_FALSE(fit_sym_expr((s0 + s1).evaluate(a), (s0 + s1).evaluate(b), a, b).has_value());
    CHECK_FALSE(fit_sym_expr(a[0] / 2, b[0] / 2, a, b).has_value());
  }

  TEST_CASE("symbolic sizes: constants that follow a size, rounded to f32 or not") {
    const std::vector<int64_t> a = witness_sizes(2, 0), b = witness_sizes(2, 1);
    auto at = [](const std::vector<int64_t> &w, double scale, bool reciprocal, bool f32) {
      const double n = static_cast<double>(w[0]) * static_cast<double>(w[1]);
      const double v = reciprocal ? scale / n : scale * n;
      return f32 ? static_cast<double>(static_cast<float>(v)) : v;
    };
    for (bool f32 : {false, true})
      for (auto [scale, reciprocal] : {std::pair{1.0, true}, {2.0, true}, {0.5, false}}) {
        CAPTURE(f32);
        CAPTURE(scale);
        const std::optional<SizeConstant> c =
            fit_size_constant(at(a, scale, reciprocal, f32), at(b, scale, reciprocal, f32), a, b);
        REQUIRE(c.has_value());
        CHECK(c->size == s0 * s1);
        CHECK(c->reciprocal == reciprocal);
        CHECK(c->scale == scale);
        const std::vector<int64_t> call = {6, 7};
        CHECK(c->matches(reciprocal ? scale / 42.0 : scale * 42.0, call));
        CHECK_FALSE(c->matches(reciprocal ? scale / 43.0 : scale * 43.0, call));
      }
    // The same constant at both sets is no size; nor is one unrelated to the witnesses.
    CHECK_FALSE(fit_size_constant(0.5, 0.5, a, b).has_value());
    CHECK_FALSE(fit_size_constant(0.25, 0.5, a, b).has_value());
  }
}

}  // namespace
}  // namespace kiln::ir
