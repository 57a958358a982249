// Polynomials over symbols: canonical form, arithmetic, text, and fitting one to a value
// seen at two witness sets.
#include "ir/sym_expr.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "ir/diag.h"
#include "ir/substitute_sizes.h"

namespace kiln::ir {
namespace {

// Size constants are often rounded to f32 on the way (constant folding in the graph's
// dtype): relative 6e-8. Values of different monomials at the witnesses differ by far more.
constexpr double kSizeConstantTolerance = 1e-6;

int degree(const SymExpr::Term &t) {
  int d = 0;
  for (uint8_t p : t.powers) d += p;
  return d;
}

// Higher degree first, then s0's power, s1's, …: `s0*s1 + 4*s0 + 2*s1`.
bool before(const SymExpr::Term &x, const SymExpr::Term &y) {
  if (degree(x) != degree(y)) return degree(x) > degree(y);
  return x.powers > y.powers;
}

// Values past this are overflow to every caller (none fits int64); products stop there so
// that __int128 arithmetic on them cannot overflow.
constexpr __int128 kHuge = __int128{1} << 100;

__int128 clamp_huge(__int128 v) { return v > kHuge ? kHuge : v < -kHuge ? -kHuge : v; }

__int128 monomial_at(const std::array<uint8_t, kMaxSymbols> &powers,
                     std::span<const int64_t> sizes) {
  __int128 v = 1;
  for (size_t k = 0; k < powers.size(); ++k)
    for (int p = 0; p < powers[k]; ++p) {
      KILN_CHECK(k < sizes.size(), "symbolic value uses s{}, but only {} sizes are bound", k,
                 sizes.size());
      v = clamp_huge(v * sizes[k]);  // |v| <= 2^100 and |size| < 2^63: fits 2^127
    }
  return v;
}

// Monomials of degree 1 to 4 over n symbols (as powers), lowest degree first: the forms a
// fit tries.
std::vector<std::array<uint8_t, kMaxSymbols>> monomials_up_to_4(int n) {
  std::vector<std::array<uint8_t, kMaxSymbols>> out;
  std::array<uint8_t, kMaxSymbols> powers{};
  auto walk = [&](auto &self, int from, int left) -> void {
    if (left == 0) {
      out.push_back(powers);
      return;
    }
    for (int k = from; k < n; ++k) {
      ++powers[static_cast<size_t>(k)];
      self(self, k, left - 1);
      --powers[static_cast<size_t>(k)];
    }
  };
  for (int d = 1; d <= 4; ++d) walk(walk, 0, d);
  return out;
}

SymExpr monomial(const std::array<uint8_t, kMaxSymbols> &powers) {
  SymExpr m(1);
  for (size_t k = 0; k < powers.size(); ++k)
    for (int i = 0; i < powers[k]; ++i) m = m * SymExpr::symbol(static_cast<int>(k));
  return m;
}

bool fits_int64(__int128 v) {
  return v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max();
}

}  // namespace

SymExpr SymExpr::symbol(int k) {
  KILN_CHECK(k >= 0 && k < kMaxSymbols, "symbol s{} out of range", k);
  Term t{.coefficient = 1};
  t.powers[static_cast<size_t>(k)] = 1;
  return from_terms(0, {t});
}

SymExpr SymExpr::from_terms(int64_t constant, std::vector<Term> terms) {
  std::sort(terms.begin(), terms.end(), before);
  std::vector<Term> merged;
  for (const Term &t : terms) {
    if (!merged.empty() && merged.back().powers == t.powers)
      merged.back().coefficient += t.coefficient;
    else
      merged.push_back(t);
  }
  std::erase_if(merged, [](const Term &t) { return t.coefficient == 0; });
  SymExpr out(constant);
  if (!merged.empty()) out.terms_ = std::make_shared<const std::vector<Term>>(std::move(merged));
  return out;
}

int64_t SymExpr::constant() const {
  KILN_CHECK(is_constant(), "symbolic value {} read as a number", text());
  return constant_;
}

std::span<const SymExpr::Term> SymExpr::terms() const {
  if (!terms_) return {};
  return *terms_;
}

uint32_t SymExpr::symbols() const {
  uint32_t out = 0;
  for (const Term &t : terms())
    for (size_t k = 0; k < t.powers.size(); ++k)
      if (t.powers[k] != 0) out |= 1u << k;
  return out;
}

int64_t SymExpr::evaluate(std::span<const int64_t> sizes) const {
  __int128 v = constant_;
  for (const Term &t : terms()) {
    const __int128 m = monomial_at(t.powers, sizes);
    // Each step stays below 2^127: |m| < 2^63, |coefficient| < 2^63, |v| < 2^64 before.
    KILN_CHECK(fits_int64(m), "symbolic value {} overflows int64 at these sizes", text());
    v += m * t.coefficient;
    KILN_CHECK(v > -(__int128{1} << 64) && v < (__int128{1} << 64),
               "symbolic value {} overflows int64 at these sizes", text());
  }
  KILN_CHECK(fits_int64(v), "symbolic value {} overflows int64 at these sizes", text());
  return static_cast<int64_t>(v);
}

std::string SymExpr::text() const {
  // Magnitudes as unsigned: -INT64_MIN does not fit int64.
  auto magnitude = [](int64_t v) {
    return v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  };
  std::string out;
  for (const Term &t : terms()) {
    if (!out.empty())
      out += t.coefficient < 0 ? " - " : " + ";
    else if (t.coefficient < 0)
      out += "-";
    std::vector<std::string> factors;
    if (magnitude(t.coefficient) != 1)
      factors.push_back(fmt::format("{}", magnitude(t.coefficient)));
    for (size_t k = 0; k < t.powers.size(); ++k) {
      if (t.powers[k] == 1) factors.push_back(fmt::format("s{}", k));
      if (t.powers[k] > 1) factors.push_back(fmt::format("s{}^{}", k, t.powers[k]));
    }
    out += fmt::format("{}", fmt::join(factors, "*"));
  }
  if (out.empty()) return fmt::format("{}", constant_);
  if (constant_ != 0) out += fmt::format(" {} {}", constant_ < 0 ? '-' : '+', magnitude(constant_));
  return out;
}

SymExpr operator+(const SymExpr &a, const SymExpr &b) {
  if (a.is_constant() && b.is_constant()) return {a.constant_ + b.constant_};
  std::vector<SymExpr::Term> terms(a.terms().begin(), a.terms().end());
  terms.insert(terms.end(), b.terms().begin(), b.terms().end());
  return SymExpr::from_terms(a.constant_ + b.constant_, std::move(terms));
}

SymExpr operator-(const SymExpr &a, const SymExpr &b) { return a + SymExpr(-1) * b; }

SymExpr operator*(const SymExpr &a, const SymExpr &b) {
  if (a.is_constant() && b.is_constant()) return {a.constant_ * b.constant_};
  // Each side as terms with the constant as a term of no powers.
  auto all = [](const SymExpr &e) {
    std::vector<SymExpr::Term> t(e.terms().begin(), e.terms().end());
    if (e.constant_ != 0) t.push_back({.coefficient = e.constant_});
    return t;
  };
  int64_t constant = 0;
  std::vector<SymExpr::Term> terms;
  for (const SymExpr::Term &x : all(a))
    for (const SymExpr::Term &y : all(b)) {
      SymExpr::Term t{.coefficient = x.coefficient * y.coefficient};
      for (size_t k = 0; k < t.powers.size(); ++k) {
        KILN_CHECK(x.powers[k] + y.powers[k] <= 8, "symbolic size with s{} to a power above 8", k);
        t.powers[k] = static_cast<uint8_t>(x.powers[k] + y.powers[k]);
      }
      if (degree(t) == 0)
        constant += t.coefficient;
      else
        terms.push_back(t);
    }
  return SymExpr::from_terms(constant, std::move(terms));
}

bool SymExpr::operator==(const SymExpr &o) const {
  if (constant_ != o.constant_ || is_constant() != o.is_constant()) return false;
  return is_constant() || *terms_ == *o.terms_;
}

SymExpr SymExpr::parse(std::string_view text) {
  size_t at = 0;
  auto bad = [&](std::string_view what) -> SymExpr {
    fail("symbolic size '{}': {} at column {}", text, what, at + 1);
  };
  auto skip = [&] {
    while (at < text.size() && text[at] == ' ') ++at;
  };
  auto number = [&](int64_t &v) {
    const auto [end, ec] = std::from_chars(text.data() + at, text.data() + text.size(), v);
    if (ec != std::errc()) return false;
    at = static_cast<size_t>(end - text.data());
    return true;
  };
  SymExpr out;
  int sign = 1;
  skip();
  if (at < text.size() && text[at] == '-') {
    sign = -1;
    ++at;
  }
  while (true) {
    SymExpr term(sign);
    while (true) {
      skip();
      int64_t v = 0;
      if (at < text.size() && text[at] == 's') {
        ++at;
        if (!number(v) || v < 0 || v >= kMaxSymbols) return bad("expected a symbol s0 to s7");
        int64_t power = 1;
        if (at < text.size() && text[at] == '^' && (++at, !number(power) || power < 1 || power > 8))
          return bad("expected a power from 1 to 8");
        for (int64_t p = 0; p < power; ++p) term = term * SymExpr::symbol(static_cast<int>(v));
      } else if (number(v)) {
        term = term * SymExpr(v);
      } else {
        return bad("expected a number or a symbol");
      }
      skip();
      if (at < text.size() && text[at] == '*') {
        ++at;
        continue;
      }
      break;
    }
    out = out + term;
    if (at == text.size()) return out;
    if (text[at] != '+' && text[at] != '-') return bad("expected '+', '-' or '*'");
    sign = text[at] == '-' ? -1 : 1;
    ++at;
  }
}

std::optional<SymExpr> fit_sym_expr(int64_t at_a, int64_t at_b, std::span<const int64_t> a,
                                    std::span<const int64_t> b) {
  if (at_a == at_b) return SymExpr(at_a);
  const auto monomials = monomials_up_to_4(static_cast<int>(std::min(a.size(), b.size())));
  auto make = [](const std::array<uint8_t, kMaxSymbols> &p, int64_t c, int64_t d) {
    return SymExpr(c) * monomial(p) + SymExpr(d);
  };
  for (const auto &p : monomials) {  // c * M
    const __int128 ma = monomial_at(p, a), mb = monomial_at(p, b);
    if (ma == 0 || at_a % ma != 0) continue;
    const __int128 c = at_a / ma;
    if (c * mb == at_b && fits_int64(c)) return make(p, static_cast<int64_t>(c), 0);
  }
  // c * M + d (an offset such as (s0 - 1) * 64, or a static part of one). Two sets always
  // fit some c and d to a monomial, so a caller tests the fit at a third set.
  for (const auto &p : monomials) {
    const __int128 ma = monomial_at(p, a), mb = monomial_at(p, b);
    const __int128 diff = ma - mb;
    if (diff == 0 || (__int128{at_a} - at_b) % diff != 0) continue;
    const __int128 c = (__int128{at_a} - at_b) / diff, d = at_a - c * ma;
    if (fits_int64(c) && d >= -(1 << 20) && d <= (1 << 20))
      return make(p, static_cast<int64_t>(c), static_cast<int64_t>(d));
  }
  return std::nullopt;
}

double SizeConstant::value(std::span<const int64_t> sizes) const {
  const double n = static_cast<double>(size.evaluate(sizes));
  return reciprocal ? scale / n : scale * n;
}

bool SizeConstant::matches(double v, std::span<const int64_t> sizes) const {
  const double want = value(sizes);
  return std::abs(v - want) <= kSizeConstantTolerance * std::abs(want);
}

std::optional<SizeConstant> fit_size_constant(double at_a, double at_b, std::span<const int64_t> a,
                                              std::span<const int64_t> b) {
  if (!std::isfinite(at_a) || !std::isfinite(at_b) || at_a == at_b) return std::nullopt;
  auto whole = [](double v) { return std::abs(v) < 0x1p53 && v == std::nearbyint(v); };
  if (whole(at_a) && whole(at_b)) {  // a count: any polynomial
    std::optional<SymExpr> e =
        fit_sym_expr(static_cast<int64_t>(at_a), static_cast<int64_t>(at_b), a, b);
    if (e && !e->is_constant()) return SizeConstant{*e, false, 1};
  }
  // scale * M or scale / M for a monomial M, the lowest degree that fits. A scale within
  // rounding of a simple fraction is that fraction (2/n, not 1.99999995/n).
  const auto monomials = monomials_up_to_4(static_cast<int>(std::min(a.size(), b.size())));
  for (const auto &p : monomials) {
    const double ma = static_cast<double>(monomial_at(p, a));
    const double mb = static_cast<double>(monomial_at(p, b));
    for (bool reciprocal : {true, false}) {
      double sa = reciprocal ? at_a * ma : at_a / ma;
      const double sb = reciprocal ? at_b * mb : at_b / mb;
      if (sa == 0 || std::abs(sa - sb) > kSizeConstantTolerance * std::abs(sa)) continue;
      for (int den = 1; den <= 64; ++den)
        if (std::abs(sa * den - std::nearbyint(sa * den)) <=
            kSizeConstantTolerance * std::abs(sa * den)) {
          sa = std::nearbyint(sa * den) / den;
          break;
        }
      return SizeConstant{monomial(p), reciprocal, sa};
    }
  }
  return std::nullopt;
}

Graph with_size_constants_of(const Graph &a, const Graph &b, std::span<const int64_t> wa,
                             std::span<const int64_t> wb, std::vector<SizeConstantNode> *found,
                             std::span<const SymExpr> derived) {
  const std::vector<int64_t> from = size_values(derived, wb), to = size_values(derived, wa);
  Graph out = substitute(b, {from, to});
  if (out.nodes.size() != a.nodes.size()) return out;
  for (size_t i = 0; i < out.nodes.size(); ++i) {
    Node &n = out.nodes[i];
    const Node &m = a.nodes[i];
    if (n.op != OpKind::Full || m.op != OpKind::Full) continue;
    const AttrValue *xv = m.attrs.find("value"), *yv = n.attrs.find("value");
    const double *x = xv != nullptr ? std::get_if<double>(xv) : nullptr;
    const double *y = yv != nullptr ? std::get_if<double>(yv) : nullptr;
    if (x == nullptr || y == nullptr || *x == *y) continue;
    if (std::optional<SizeConstant> c = fit_size_constant(*x, *y, wa, wb)) {
      n.attrs.set("value", *x);
      if (found != nullptr) found->push_back({i, *c});
    }
  }
  return out;
}

std::vector<SymExpr> derived_sizes(const Graph &a, const Graph &b, std::span<const int64_t> wa,
                                   std::span<const int64_t> wb) {
  std::vector<SymExpr> out;
  if (a.num_values() != b.num_values() || a.nodes.size() != b.nodes.size()) return out;
  const SizeMap b_to_a{wb, wa};
  auto see = [&](int64_t x, int64_t y) {
    if (b_to_a(y) == x) return;
    std::optional<SymExpr> e = fit_sym_expr(x, y, wa, wb);
    if (e && !e->is_constant() && std::find(out.begin(), out.end(), *e) == out.end())
      out.push_back(*e);
  };
  auto see_all = [&](std::span<const int64_t> x, std::span<const int64_t> y) {
    for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) see(x[i], y[i]);
  };
  for (ValueId v = 0; v < a.num_values(); ++v) see_all(a.type(v).shape, b.type(v).shape);
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const auto &x = a.nodes[i].attrs.items(), &y = b.nodes[i].attrs.items();
    for (size_t k = 0; k < std::min(x.size(), y.size()); ++k) {
      if (x[k].first != y[k].first) continue;
      if (const auto *xi = std::get_if<int64_t>(&x[k].second))
        if (const auto *yi = std::get_if<int64_t>(&y[k].second)) see(*xi, *yi);
      if (const auto *xs = std::get_if<std::vector<int64_t>>(&x[k].second))
        if (const auto *ys = std::get_if<std::vector<int64_t>>(&y[k].second)) see_all(*xs, *ys);
    }
  }
  return out;
}

std::vector<int64_t> size_values(std::span<const SymExpr> derived, std::span<const int64_t> sizes) {
  std::vector<int64_t> out(sizes.begin(), sizes.end());
  for (const SymExpr &e : derived) out.push_back(e.evaluate(sizes));
  return out;
}

}  // namespace kiln::ir
