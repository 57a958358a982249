// The generator's multi-op patterns, the shapes of code users write that single random ops
// rarely form: a reduced value broadcast back against its input under every alignment, a
// view read beside its source, chains of row reductions, linear as the frontend traces it.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "generator.h"
#include "ir/diag.h"
#include "ir/infer.h"

namespace kiln::test::fuzz {
namespace {

// Every increasing choice of positions in `to` for the dims of `from` where each dim of
// `from` is 1 or equals the size at its position.
void placements(const Shape &from, const Shape &to, size_t i, size_t at, std::vector<int64_t> &cur,
                std::vector<std::vector<int64_t>> &out) {
  if (i == from.size()) {
    out.push_back(cur);
    return;
  }
  for (size_t p = at; p + (from.size() - i) <= to.size(); ++p) {
    if (from[i] != 1 && from[i] != to[p]) continue;
    cur.push_back(static_cast<int64_t>(p));
    placements(from, to, i + 1, p + 1, cur, out);
    cur.pop_back();
  }
}

// Where the dims of reduce(x, dims, keepdim) sit in x.
std::vector<int64_t> kept_dims(OpKind op, const TensorType &x, const std::vector<int64_t> &dims,
                               bool keepdim) {
  Attrs attrs;
  if (!dims.empty()) attrs.set("dims", dims);
  const std::vector<int64_t> reduced = reduced_dims(op, x, attrs);
  std::vector<int64_t> kept;
  for (int64_t d = 0; d < static_cast<int64_t>(x.shape.size()); ++d)
    if (keepdim || std::find(reduced.begin(), reduced.end(), d) == reduced.end()) kept.push_back(d);
  return kept;
}

std::vector<int64_t> suffix(size_t n, size_t rank) {
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), static_cast<int64_t>(rank - n));
  return p;
}

}  // namespace

// v brought to shape `to`: right-aligned as NumPy and the frontend do (sometimes left to the
// binary op's own broadcasting), at `kept_at` (where a keepdim reduction keeps its dims), or
// at any other positions whose sizes agree; now and then v's dims are permuted first. `to`
// is a copy: emitting grows the value table that type() refers into.
ValueId Generator::align(ValueId v, Shape to, const std::vector<int64_t> &kept_at) {
  if (rank(v) >= 2 && rng_.coin(0.15)) {
    std::vector<int64_t> perm(static_cast<size_t>(rank(v)));
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[0], perm[1 + rng_.below(rank(v) - 1)]);
    v = emit(OpKind::Permute, {v}, {{"perm", perm}}, facts_[v].bound);
  }
  const Shape from = type(v).shape;
  std::vector<std::vector<int64_t>> fits;
  std::vector<int64_t> cur;
  placements(from, to, 0, 0, cur, fits);
  if (fits.empty()) fail("fuzz: {} does not line up with {}", format_shape(from), format_shape(to));
  const std::vector<int64_t> numpy = suffix(from.size(), to.size());
  const bool numpy_fits = std::find(fits.begin(), fits.end(), numpy) != fits.end();
  const bool kept_fits = std::find(fits.begin(), fits.end(), kept_at) != fits.end();
  std::vector<int64_t> at = fits[rng_.below(static_cast<int64_t>(fits.size()))];
  if (int64_t r = rng_.below(10); numpy_fits && r < 4)
    at = numpy;
  else if (kept_fits && r < 7)
    at = kept_at;
  if (at == numpy) return rng_.coin(0.5) ? v : broadcast(v, to);
  Shape shape(to.size(), 1);
  for (size_t i = 0; i < at.size(); ++i) shape[at[i]] = from[i];
  return broadcast(emit(OpKind::Reshape, {v}, {{"shape", shape}}, facts_[v].bound), to);
}

// v converted to another dtype it can take without a jump: floats to floats, integers and
// bools to anything.
ValueId Generator::mix_dtype(ValueId v) {
  DType d = type(v).dtype, to = d;
  if (is_floating(d))
    to = d == DType::F32 ? DType::F64 : DType::F32;
  else if (facts_[v].bound <= 1e6)
    to = random_dtype();
  if (to == d) return v;
  return emit(OpKind::Convert, {v}, {{"dtype", to}}, facts_[v].bound);
}

// A value computed from a picked one (never a graph input), so that views and reductions
// of it are reads of an intermediate.
ValueId Generator::computed() {
  ValueId x = pick();
  if (!g_.is_input(x) && rng_.coin(0.5)) return x;
  static constexpr OpKind kOps[] = {OpKind::Neg,  OpKind::Abs, OpKind::Relu,
                                    OpKind::Tanh, OpKind::Exp, OpKind::Sigmoid};
  OpKind op = kOps[rng_.below(std::size(kOps))];
  const bool float_only = op == OpKind::Tanh || op == OpKind::Exp || op == OpKind::Sigmoid;
  if (type(x).dtype == DType::Bool || float_only) x = to_float(x);
  if (op == OpKind::Exp) x = clamp(x, -4.0, 4.0);
  double b = op == OpKind::Exp ? std::exp(4.0) : float_only ? 1 : facts_[x].bound;
  return emit(op, {x}, {}, b);
}

// r = reduce(x) with or without keepdim, brought back to x's shape and combined with x:
// sub(x, max(x, 1)), le(max(x, 1), x), add(std(y, 1), y), ...
void Generator::reduce_back() {
  static constexpr OpKind kOps[] = {OpKind::Max,    OpKind::Min,    OpKind::Sum, OpKind::Mean,
                                    OpKind::Prod,   OpKind::Std,    OpKind::Var, OpKind::Logsumexp,
                                    OpKind::Argmax, OpKind::Argmin, OpKind::Any, OpKind::All};
  OpKind op = kOps[rng_.below(std::size(kOps))];
  const bool picks_index = op == OpKind::Argmax || op == OpKind::Argmin;
  ValueId x = rng_.coin(0.5) ? computed() : pick();
  if (picks_index || op == OpKind::Any || op == OpKind::All) x = rng_.coin(0.5) ? pick_exact() : x;
  if (rank(x) == 0 || ((picks_index || op == OpKind::Any || op == OpKind::All) && facts_[x].approx))
    fail("fuzz: nothing to reduce back");
  std::vector<int64_t> dims = random_dims(rank(x), picks_index);
  const bool keepdim = rng_.coin(0.35);
  const std::vector<int64_t> kept = kept_dims(op, type(x), dims, keepdim);
  ValueId r = reduction(op, x, dims, keepdim);
  if (rng_.coin(0.3)) r = mix_dtype(r);
  if (rng_.coin(0.2)) want_output(r);
  ValueId other = rng_.coin(0.7) ? x : partner(x, type(x));
  ValueId back = align(r, type(x).shape, kept);
  rng_.coin(0.5) ? combine(other, back) : combine(back, other);
}

// w = a view of a computed value src (select, slice, permute, expand), combined with src
// and often with src once more: (a + select(a, 0, 0)) * a.
void Generator::view_back() {
  ValueId src = computed();
  const Shape s = type(src).shape;
  const int64_t r = rank(src), dim = r > 0 ? rng_.below(r) : 0;
  if (r == 0) fail("fuzz: no view of a scalar");
  double b = facts_[src].bound;
  auto slice = [&](int64_t start, int64_t stop, int64_t step) {
    Attrs a;
    if (dim != 0) a.set("dim", dim);
    if (start != 0) a.set("start", start);
    if (stop != s[dim]) a.set("stop", stop);
    if (step != 1) a.set("step", step);
    return emit(OpKind::Slice, {src}, std::move(a), b);
  };
  std::vector<int64_t> kept(static_cast<size_t>(r));
  std::iota(kept.begin(), kept.end(), 0);
  ValueId w;
  Shape to = s;
  switch (rng_.below(5)) {
    case 0: {  // select: a slice of one, squeezed
      if (s[dim] == 0) fail("fuzz: select from an empty dim");
      const int64_t i = rng_.below(s[dim]);
      Shape t = s;
      t.erase(t.begin() + dim);
      kept.erase(kept.begin() + dim);
      w = emit(OpKind::Reshape, {slice(i, i + 1, 1)}, {{"shape", t}}, b);
      break;
    }
    case 1: {  // a slice of one element, the whole dim, or a stepped range
      const int64_t start = rng_.below(s[dim] + 1);
      const int64_t kind = rng_.below(3);
      w = kind == 0 && start < s[dim] ? slice(start, start + 1, 1)
          : kind == 1                 ? slice(0, s[dim], 1)
                                      : slice(start, s[dim], 1 + rng_.below(3));
      break;
    }
    case 2: {  // permute: a transpose of square dims keeps the shape
      std::vector<int64_t> perm = kept;
      for (int64_t i = r - 1; i > 0; --i) std::swap(perm[i], perm[rng_.below(i + 1)]);
      w = emit(OpKind::Permute, {src}, {{"perm", perm}}, b);
      break;
    }
    case 3: {  // expand a slice of one back to the full shape
      if (s[dim] == 0) fail("fuzz: expand from an empty dim");
      const int64_t i = rng_.below(s[dim]);
      w = broadcast(slice(i, i + 1, 1), s);
      break;
    }
    default: {  // expand with new leading dims; src then broadcasts to it
      if (static_cast<int>(s.size()) >= opt_.max_rank) fail("fuzz: no room for a leading dim");
      to.insert(to.begin(), rng_.coin(0.2) ? 0 : 1 + rng_.below(opt_.max_dim));
      w = broadcast(src, to);
      break;
    }
  }
  if (rng_.coin(0.2)) want_output(w);
  if (rng_.coin(0.2)) want_output(src);
  ValueId back = type(w).shape.size() == to.size() ? w : align(w, to, kept);
  ValueId out = rng_.coin(0.5) ? combine(src, back) : combine(back, src);
  if (rng_.coin(0.6)) out = rng_.coin(0.5) ? combine(out, src) : combine(src, out);
}

// A chain of reductions along one row dim, each broadcast back and combined, with
// pointwise steps between: softmax, layer norm and their hand-written cousins.
void Generator::row_chain() {
  static constexpr OpKind kReduce[] = {OpKind::Max,       OpKind::Sum, OpKind::Mean, OpKind::Min,
                                       OpKind::Logsumexp, OpKind::Var, OpKind::Std};
  ValueId x = tame(to_float(rng_.coin(0.5) ? computed() : pick()));
  const int64_t r = rank(x);
  if (r == 0) fail("fuzz: no rows in a scalar");
  const int64_t row = rng_.coin(0.7) ? r - 1 : rng_.below(r);
  for (int64_t step = 0, steps = 2 + rng_.below(5); step < steps; ++step) {
    const Shape s = type(x).shape;
    if (rng_.coin(0.3)) {
      x = rng_.coin(0.5) ? emit(OpKind::Exp, {clamp(x, -8.0, 8.0)}, {}, std::exp(8.0))
                         : emit(OpKind::Tanh, {x}, {}, 1);
      continue;
    }
    OpKind op = kReduce[rng_.below(std::size(kReduce))];
    const bool keepdim = rng_.coin(0.4);
    std::vector<int64_t> dims = rng_.coin(0.8) ? std::vector<int64_t>{row} : random_dims(r, false);
    const std::vector<int64_t> kept = kept_dims(op, type(x), dims, keepdim);
    ValueId red = reduction(op, x, dims, keepdim);
    x = tame(combine(x, align(red, s, kept)));
    if (!floating(x)) x = to_float(x);
  }
}

// linear(x, w, b) as the frontend traces it: x [..., k] flattened to 2-D, times w [n, k]
// transposed, plus the bias, reshaped back; k and n may be 0.
void Generator::linear() {
  ValueId x = clamp(to_float(pick()), -4.0, 4.0);
  if (rank(x) == 0) fail("fuzz: linear of a scalar");
  if (rng_.coin(0.25)) {
    Attrs a;
    if (rank(x) > 1) a.set("dim", rank(x) - 1);
    if (type(x).shape.back() != 0) a.set("stop", int64_t(0));
    x = emit(OpKind::Slice, {x}, std::move(a), 4);
  }
  const Shape s = type(x).shape;
  const int64_t k = s.back(), n = rng_.coin(0.1) ? 0 : 1 + rng_.below(opt_.max_dim);
  const DType d = type(x).dtype;
  ValueId w = clamp(partner(x, {d, {n, k}}), -4.0, 4.0);
  ValueId flat = x;
  if (s.size() != 2) {
    int64_t lead = 1;
    for (size_t i = 0; i + 1 < s.size(); ++i) lead *= s[i];
    flat = emit(OpKind::Reshape, {x}, {{"shape", Shape{lead, k}}}, 4);
  }
  ValueId wt = emit(OpKind::Permute, {w}, {{"perm", std::vector<int64_t>{1, 0}}}, 4);
  ValueId y = emit(OpKind::Matmul, {flat, wt}, {}, 16 * static_cast<double>(k));
  if (rng_.coin(0.6)) {
    ValueId bias = clamp(partner(x, {d, {n}}), -4.0, 4.0);
    y = emit(OpKind::Add, {y, broadcast(bias, type(y).shape)}, {}, facts_[y].bound + 4);
  }
  if (s.size() == 2) return;
  Shape out = s;
  out.back() = n;
  emit(OpKind::Reshape, {y}, {{"shape", out}}, facts_[y].bound);
}

}  // namespace kiln::test::fuzz
