// Two kernels walked side by side: structure must match, numbers become polynomials. The
// same walk checks a symbolic kernel against the kernel scheduled at a third set.
#include "lowering/symbolic_kernel.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln::lower {
namespace {

// Fitting: x is the kernel at set a, becoming symbolic; y the kernel at set b. Checking
// (`check`): x is the symbolic kernel, y the kernel at set b, and each of x's numbers must
// evaluate to y's there.
class Fitter {
 public:
  Fitter(std::span<const int64_t> a, std::span<const int64_t> b, std::string_view kernel,
         bool check = false)
      : a_(a), b_(b), kernel_(kernel), check_(check) {}
  bool checking() const { return check_; }

  std::string why;

  bool same(bool equal, std::string_view what) {
    if (!equal && why.empty())
      why = fmt::format("kernel @{}: {} differs between sizes", kernel_, what);
    return equal;
  }

  // x holds the value at set a (and becomes the polynomial); y the value at set b.
  bool number(ir::SymExpr &x, const ir::SymExpr &y, std::string_view what) {
    if (!why.empty()) return false;
    if (check_) {
      if (y.is_constant() && x.evaluate(b_) == y.constant()) return true;
      why = fmt::format("kernel @{}: its {} {} is not {} at a third size", kernel_, what, x.text(),
                        y.text());
      return false;
    }
    if (x == y) return true;
    std::optional<ir::SymExpr> e;
    if (x.is_constant() && y.is_constant())
      e = ir::fit_sym_expr(x.constant(), y.constant(), a_, b_);
    if (!e) {
      why =
          fmt::format("kernel @{}: its {} ({} and {} at two sizes) is no polynomial in the symbols",
                      kernel_, what, x.text(), y.text());
      return false;
    }
    x = *e;
    return true;
  }

  bool index(Index &x, const Index &y) {
    if (!same(x.strides.size() == y.strides.size(), "an index")) return false;
    for (size_t l = 0; l < x.strides.size(); ++l)
      if (!number(x.strides[l], y.strides[l], "stride")) return false;
    return number(x.offset, y.offset, "offset");
  }

  // A float constant that differs: a size or the reciprocal of one (a mean's count).
  bool constant(Scalar &x, const Scalar &y) {
    if (check_ && x.kind == Scalar::Kind::Size) {
      const ir::SizeConstant c{x.size, x.reciprocal, x.scale};
      const double want = is_integral(x.dtype) ? static_cast<double>(y.int_value) : y.value;
      if (is_integral(x.dtype) ? x.size.evaluate(b_) == y.int_value : c.matches(want, b_))
        return true;
      why = fmt::format("kernel @{}: a size constant is not {} at a third size", kernel_, want);
      return false;
    }
    if (check_) {
      if (is_integral(x.dtype) ? x.int_value == y.int_value
                               : x.value == y.value || (std::isnan(x.value) && std::isnan(y.value)))
        return true;
      why = fmt::format("kernel @{}: a constant differs at a third size", kernel_);
      return false;
    }
    if (is_integral(x.dtype)) {
      if (x.int_value == y.int_value) return true;
      ir::SymExpr e(x.int_value);
      if (!number(e, y.int_value, "integer constant")) return false;
      x.kind = Scalar::Kind::Size;
      x.size = e;
      return true;
    }
    if (x.value == y.value || (std::isnan(x.value) && std::isnan(y.value))) return true;
    if (std::optional<ir::SizeConstant> c = ir::fit_size_constant(x.value, y.value, a_, b_)) {
      x.kind = Scalar::Kind::Size;
      x.size = c->size;
      x.reciprocal = c->reciprocal;
      x.scale = c->scale;
      return true;
    }
    if (why.empty())
      why = fmt::format("kernel @{}: a constant ({} and {} at two sizes) is no size", kernel_,
                        x.value, y.value);
    return false;
  }

  bool stmts(std::vector<Stmt> &x, const std::vector<Stmt> &y) {
    if (!same(x.size() == y.size(), "the loop body")) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      Stmt &s = x[i];
      const Stmt &t = y[i];
      if (!same(s.kind == t.kind && s.id == t.id && s.value == t.value && s.arg == t.arg,
                "a statement"))
        return false;
      if (s.kind == Stmt::Kind::Store && !index(s.index, t.index)) return false;
      if (!stmts(s.body, t.body)) return false;
    }
    return true;
  }

 private:
  std::span<const int64_t> a_, b_;
  std::string_view kernel_;
  bool check_;
};

// The walk of both: fit (out = at_a, made symbolic) or check (out = a copy of the symbolic
// kernel, at_b the kernel at the third set).
std::string walk(Kernel &out, const Kernel &at_b, Fitter &f) {
  if (!f.same(
          out.name == at_b.name && out.args.size() == at_b.args.size() &&
              out.loops.size() == at_b.loops.size() && out.scalars.size() == at_b.scalars.size() &&
              out.accs.size() == at_b.accs.size() && out.gemm.has_value() == at_b.gemm.has_value(),
          "the kernel's form"))
    return f.why;
  for (size_t i = 0; i < out.args.size(); ++i) {
    KernelArg &x = out.args[i];
    const KernelArg &y = at_b.args[i];
    if (!f.same(x.name == y.name && x.dtype == y.dtype && x.written == y.written &&
                    x.scratch == y.scratch && x.stream_bytes == y.stream_bytes,
                "an argument") ||
        !f.number(x.numel, y.numel, fmt::format("buffer %{}'s size", x.name)))
      return f.why;
    // Whether a buffer of symbolic size streams is the call's to decide (from its bytes).
    if (!x.numel.is_constant())
      x.streaming = x.stream_bytes > 0;
    else if (!f.same(x.streaming == y.streaming, "an argument"))
      return f.why;
    // A row of scratch lives on the stack: its size is fixed when the code is made.
    if (x.scratch && !x.numel.is_constant())
      return fmt::format("kernel @{}: a row of scratch would have a symbolic size", out.name);
  }
  for (size_t l = 0; l < out.loops.size(); ++l) {
    Loop &x = out.loops[l];
    const Loop &y = at_b.loops[l];
    if (!f.same(x.parallel == y.parallel && x.vector == y.vector && x.split == y.split, "a loop") ||
        !f.number(x.extent, y.extent, fmt::format("loop i{}'s extent", l)))
      return f.why;
  }
  for (size_t i = 0; i < out.accs.size(); ++i)
    if (!f.same(
            out.accs[i].combine == at_b.accs[i].combine && out.accs[i].dtype == at_b.accs[i].dtype,
            "an accumulator"))
      return f.why;
  for (size_t i = 0; i < out.scalars.size(); ++i) {
    Scalar &x = out.scalars[i];
    const Scalar &y = at_b.scalars[i];
    // A size scalar of the symbolic kernel is a constant at any one size.
    const Scalar::Kind kind =
        f.checking() && x.kind == Scalar::Kind::Size ? Scalar::Kind::Constant : x.kind;
    if (!f.same(kind == y.kind && x.dtype == y.dtype && x.arg == y.arg && x.op == y.op &&
                    x.attrs == y.attrs && x.operands == y.operands && x.acc == y.acc,
                fmt::format("scalar v{}", i)))
      return f.why;
    if (x.kind == Scalar::Kind::Load && !f.index(x.index, y.index)) return f.why;
    if (kind == Scalar::Kind::Constant && !f.constant(x, y)) return f.why;
  }
  if (!f.stmts(out.body, at_b.body)) return f.why;
  if (out.gemm) {
    Gemm &x = *out.gemm;
    const Gemm &y = *at_b.gemm;
    if (!f.same(x.a == y.a && x.b == y.b && x.dtype == y.dtype && x.a_dtype == y.a_dtype &&
                    x.b_dtype == y.b_dtype && x.tile == y.tile &&
                    x.a_shape.size() == y.a_shape.size() && x.b_shape.size() == y.b_shape.size(),
                "the product"))
      return f.why;
    for (size_t d = 0; d < x.a_shape.size(); ++d)
      if (!f.number(x.a_shape[d], y.a_shape[d], "the product's shape")) return f.why;
    for (size_t d = 0; d < x.b_shape.size(); ++d)
      if (!f.number(x.b_shape[d], y.b_shape[d], "the product's shape")) return f.why;
  }
  return f.why;
}

}  // namespace

std::string symbolize_kernel(const Kernel &at_a, const Kernel &at_b, std::span<const int64_t> a,
                             std::span<const int64_t> b, Kernel &out) {
  out = at_a;
  Fitter f(a, b, at_a.name);
  return walk(out, at_b, f);
}

std::string check_symbolic_kernel(const Kernel &symbolic, const Kernel &at_c,
                                  std::span<const int64_t> c) {
  Kernel copy = symbolic;
  Fitter f({}, c, symbolic.name, true);
  return walk(copy, at_c, f);
}

}  // namespace kiln::lower
