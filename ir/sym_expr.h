// SymExpr: an integer that is a constant or a polynomial over a graph's symbols s0, s1, …
// (integer coefficients, any powers): the extents, strides, offsets and buffer sizes of a
// kernel built once for every size of its dynamic dims, whose values a backend computes
// from the call's sizes. The form is canonical (terms sorted by their powers, no zero
// coefficients), so two equal polynomials compare equal and print the same.
#pragma once

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

// Most symbols one graph may have.
inline constexpr int kMaxSymbols = 8;

class SymExpr {
 public:
  // coefficient * s0^powers[0] * s1^powers[1] * …
  struct Term {
    int64_t coefficient = 0;
    std::array<uint8_t, kMaxSymbols> powers{};
    bool operator==(const Term &) const = default;
  };

  SymExpr(int64_t constant = 0) : constant_(constant) {}  // NOLINT: an int is a SymExpr
  [[nodiscard]] static SymExpr symbol(int k);
  // Throws kiln::Error naming the text on anything but a sum of products of integers and
  // symbols (`64*s0*s1 + 3`, `s0^2`, `-2*s1`).
  [[nodiscard]] static SymExpr parse(std::string_view text);

  [[nodiscard]] bool is_constant() const { return terms_ == nullptr; }
  // The value of a constant; an internal error for a symbolic one (a caller that reads a
  // symbolic value as a number would compute with a witness).
  [[nodiscard]] int64_t constant() const;
  // The constant term (the whole value for a constant).
  [[nodiscard]] int64_t constant_term() const { return constant_; }
  [[nodiscard]] std::span<const Term> terms() const;  // non-constant terms, canonical order
  // Symbols it uses, as a bit set (bit k: s<k>).
  [[nodiscard]] uint32_t symbols() const;

  // The value at these sizes of s0, s1, …; an internal error if a symbol it uses has none.
  [[nodiscard]] int64_t evaluate(std::span<const int64_t> sizes) const;
  [[nodiscard]] std::string text() const;  // "64*s0*s1 + 3", "s0^2", "7"

  friend SymExpr operator+(const SymExpr &a, const SymExpr &b);
  friend SymExpr operator-(const SymExpr &a, const SymExpr &b);
  friend SymExpr operator*(const SymExpr &a, const SymExpr &b);
  bool operator==(const SymExpr &o) const;
  bool operator==(int64_t c) const { return is_constant() && constant_ == c; }

 private:
  static SymExpr from_terms(int64_t constant, std::vector<Term> terms);
  int64_t constant_ = 0;
  std::shared_ptr<const std::vector<Term>> terms_;  // null: a constant
};

// The polynomial with value `at_a` at sizes `a` and `at_b` at sizes `b` (two witness sets),
// if one of the shapes kernels use fits: a constant, c*M for a monomial M of degree up to
// 4 over the symbols, or c*M + d. Nothing when none fits exactly; callers keep the value
// static then.
[[nodiscard]] std::optional<SymExpr> fit_sym_expr(int64_t at_a, int64_t at_b,
                                                  std::span<const int64_t> a,
                                                  std::span<const int64_t> b);

// A float constant seen as `at_a` and `at_b` at the two witness sets that follows a size:
// scale * size or scale / size (a mean's 1/n, a gradient's 2/n), with `size` a polynomial
// that is not a constant.
struct SizeConstant {
  SymExpr size;
  bool reciprocal = false;
  double scale = 1;
  [[nodiscard]] double value(std::span<const int64_t> sizes) const;
  // Whether `v` is this constant at `sizes`, up to the rounding of computing it.
  [[nodiscard]] bool matches(double v, std::span<const int64_t> sizes) const;
};
[[nodiscard]] std::optional<SizeConstant> fit_size_constant(double at_a, double at_b,
                                                            std::span<const int64_t> a,
                                                            std::span<const int64_t> b);

// `b`, traced at witnesses `wb` and substituted to `wa`, with each `full` whose value is a
// size constant (as a mean's count) given the value it has in `a`: what remains is the
// graph `a` when the two differ only in such constants, which kernels then compute from
// the call's sizes (lowering/symbolic_kernel.h). `found` gets those nodes (by index) and
// their fits. Requires graphs of the same nodes in the same order; others come back as
// they were.
struct SizeConstantNode {
  size_t node;
  SizeConstant constant;
};
[[nodiscard]] Graph with_size_constants_of(const Graph &a, const Graph &b,
                                           std::span<const int64_t> wa, std::span<const int64_t> wb,
                                           std::vector<SizeConstantNode> *found = nullptr,
                                           std::span<const SymExpr> derived = {});

// Sizes a graph holds as plain numbers that are computed from the symbols (the 4*s0 rows of
// a batched matmul, a reshape to s0*s1): the polynomials that take each number of `a` (at
// witnesses `wa`) to the number at the same place in `b` (at `wb`), in shapes and integer
// attributes, where that number is not a witness itself. Graphs of different forms give
// none (comparing them fails anyway).
[[nodiscard]] std::vector<SymExpr> derived_sizes(const Graph &a, const Graph &b,
                                                 std::span<const int64_t> wa,
                                                 std::span<const int64_t> wb);
// The values a SizeMap maps between: the symbols' sizes, then each derived size at them.
[[nodiscard]] std::vector<int64_t> size_values(std::span<const SymExpr> derived,
                                               std::span<const int64_t> sizes);

}  // namespace kiln::ir

// `{}` of a SymExpr is its text.
template <>
struct fmt::formatter<kiln::ir::SymExpr> : fmt::formatter<std::string> {
  auto format(const kiln::ir::SymExpr &e, fmt::format_context &ctx) const {
    return fmt::formatter<std::string>::format(e.text(), ctx);
  }
};
