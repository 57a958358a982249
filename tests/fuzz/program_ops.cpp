// The op families of the program generator: each picks operands, guards their domain by
// construction (clamps, converts, broadcasts) and emits one op; a kiln::Error from the type
// rule means "try another choice".
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "generator.h"
#include "ir/diag.h"
#include "ir/infer.h"

namespace kiln::test::fuzz {
void Generator::unary() {
  static constexpr OpKind kOps[] = {
      OpKind::Neg,   OpKind::Abs,        OpKind::Exp,     OpKind::Log,  OpKind::Log1p,
      OpKind::Expm1, OpKind::Sqrt,       OpKind::Rsqrt,   OpKind::Sin,  OpKind::Cos,
      OpKind::Tanh,  OpKind::Sigmoid,    OpKind::Relu,    OpKind::Gelu, OpKind::Silu,
      OpKind::Erf,   OpKind::Reciprocal, OpKind::Floor,   OpKind::Ceil, OpKind::Round,
      OpKind::Sign,  OpKind::LogicalNot, OpKind::Convert, OpKind::Clamp};
  OpKind op = kOps[rng_.below(std::size(kOps))];
  bool jumps = op == OpKind::Floor || op == OpKind::Ceil || op == OpKind::Round ||
               op == OpKind::Sign || op == OpKind::LogicalNot || op == OpKind::Convert;
  ValueId x = jumps ? pick_exact() : pick();
  double b = facts_[x].bound, inf = INFINITY;
  // Domain guards: always for approximate operands (an edge case would be a coin flip
  // between the two sides), usually otherwise; unguarded, exact operands make inf and NaN.
  bool guard = facts_[x].approx || rng_.coin(0.7);
  Attrs attrs;
  switch (op) {
    case OpKind::Exp:
    case OpKind::Expm1:
      x = clamp(to_float(x), -8.0, 8.0);
      b = std::exp(8.0);
      break;
    case OpKind::Log:
    case OpKind::Sqrt:
    case OpKind::Rsqrt:
    case OpKind::Reciprocal: {
      x = to_float(x);
      double lo = guard ? 0.25 : 0.0;
      if (guard) x = at_least(x, lo);
      b = op == OpKind::Sqrt  ? std::sqrt(b)
          : op == OpKind::Log ? (guard ? std::max(2.0, std::log(b + 1)) : inf)
                              : (guard ? 1 / std::sqrt(lo) / std::sqrt(lo) : inf);
      break;
    }
    case OpKind::Log1p:
      x = to_float(x);
      if (guard) x = at_least(x, -0.75);
      b = guard ? std::max(1.4, std::log1p(b)) : inf;
      break;
    case OpKind::Sin:
    case OpKind::Cos:
      // An approximate operand far from 0 makes sin and cos coin flips (seed 90082: the
      // cos of ~1e17): keep it where an ulp of the argument is a small change of the result.
      x = to_float(x);
      if (guard && b > 64) x = clamp(x, -64.0, 64.0);
      b = 1;
      break;
    case OpKind::Tanh:
    case OpKind::Sigmoid:
    case OpKind::Erf:
      x = to_float(x);
      b = 1;
      break;
    case OpKind::Gelu:
    case OpKind::Silu:
      x = to_float(x);
      if (op == OpKind::Gelu && rng_.coin(0.5)) attrs.set("approximate", true);
      break;
    case OpKind::Sign: b = 1; break;
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round: b += 1; break;
    case OpKind::Convert: attrs.set("dtype", random_dtype()); break;
    case OpKind::Clamp: {
      double lo = std::round(rng_.uniform(-4, 2) * 4) / 4, hi = lo + rng_.below(5);
      bool ints = !floating(x) || rng_.coin(0.3);
      if (rng_.coin(0.7)) ints ? attrs.set("min", int64_t(lo)) : attrs.set("min", lo);
      if (!attrs.has("min") || rng_.coin(0.5))
        ints ? attrs.set("max", int64_t(hi)) : attrs.set("max", hi);
      b = std::min(b, std::max(std::abs(lo), std::abs(hi)) + 1);
      break;
    }
    default: break;
  }
  emit(op, {x}, std::move(attrs), b);
}

namespace {

constexpr OpKind kBinaryOps[] = {
    OpKind::Add, OpKind::Sub,     OpKind::Mul,        OpKind::Div,
    OpKind::Pow, OpKind::Maximum, OpKind::Minimum,    OpKind::Fmod,
    OpKind::Eq,  OpKind::Ne,      OpKind::Lt,         OpKind::Le,
    OpKind::Gt,  OpKind::Ge,      OpKind::LogicalAnd, OpKind::LogicalOr};

// Fmod, the comparisons and logic are not continuous: their operands must be exact.
bool jumps(OpKind op) {
  return std::find(kBinaryOps + 7, std::end(kBinaryOps), op) != std::end(kBinaryOps);
}

}  // namespace

void Generator::binary() {
  OpKind op = kBinaryOps[rng_.below(std::size(kBinaryOps))];
  ValueId a = jumps(op) ? pick_exact() : pick();
  ValueId b = rng_.coin(0.2) ? emit(OpKind::Full, {},
                                    {{"shape", Shape{}},
                                     {"dtype", type(a).dtype},
                                     {"value", double(rng_.below(9) - 4) / 2}},
                                    2)
              : jumps(op)    ? pick_exact()
                             : pick();
  apply_binary(op, a, b);
}

// op(a, b) with the frontend's broadcasting and promotion, its domain guarded; a
// discontinuous op of an approximate operand becomes maximum.
ValueId Generator::apply_binary(OpKind op, ValueId a, ValueId b) {
  if (jumps(op) && (facts_[a].approx || facts_[b].approx)) op = OpKind::Maximum;
  if (op == OpKind::Div) a = to_float(a), b = to_float(b);
  bool approx = facts_[a].approx || facts_[b].approx, guard = approx || rng_.coin(0.6);
  bool ints = !is_floating(promote_types(type(a).dtype, type(b).dtype));
  if (op == OpKind::Div && guard)
    b = rng_.coin(0.5) ? at_least(b, 0.5) : clamp(b, std::nullopt, -0.5);
  if (op == OpKind::Pow && ints) a = clamp(a, -3, 3), b = clamp(b, 0, 3);  // no negative powers
  if (op == OpKind::Pow && !ints && guard) a = clamp(a, 0.25, 4.0), b = clamp(b, -3.0, 3.0);
  if (op == OpKind::Fmod && ints) b = at_least(b, 1);  // no division by zero
  std::tie(a, b) = unify(a, b);
  double ba = facts_[a].bound, bb = facts_[b].bound, bound = std::max(ba, bb);
  switch (op) {
    case OpKind::Add:
    case OpKind::Sub: bound = ba + bb; break;
    case OpKind::Mul: bound = ba * bb; break;
    case OpKind::Div: bound = guard ? 2 * ba : INFINITY; break;
    case OpKind::Pow: bound = ints ? std::pow(3, 3) : guard ? 64 : INFINITY; break;
    case OpKind::Fmod: bound = ba; break;
    default: break;
  }
  return emit(op, {a, b}, {}, bound);
}

// Any op of the table for exact operands, else a continuous one; logic for bools.
ValueId Generator::combine(ValueId a, ValueId b) {
  static constexpr OpKind kContinuous[] = {OpKind::Add, OpKind::Sub,     OpKind::Mul,
                                           OpKind::Div, OpKind::Maximum, OpKind::Minimum};
  OpKind op = kContinuous[rng_.below(std::size(kContinuous))];
  if (!facts_[a].approx && !facts_[b].approx && rng_.coin(0.4))
    op = kBinaryOps[rng_.below(std::size(kBinaryOps))];
  bool bools = type(a).dtype == DType::Bool && type(b).dtype == DType::Bool;
  if (bools && (op == OpKind::Sub || op == OpKind::Pow || op == OpKind::Fmod))
    op = rng_.coin(0.5) ? OpKind::LogicalAnd : OpKind::Ne;
  return apply_binary(op, a, b);
}

void Generator::where() {
  ValueId c = pick_exact();
  if (type(c).dtype != DType::Bool) {  // a copy: emitting grows the value table
    TensorType t = type(c);
    ValueId zero =
        emit(OpKind::Full, {}, {{"shape", Shape{}}, {"dtype", t.dtype}, {"value", int64_t(0)}}, 0);
    c = emit(OpKind::Gt, {c, broadcast(zero, t.shape)}, {}, 1);
  }
  auto [a, b] = unify(pick(), pick());
  Shape s = broadcast_shapes("where", type(c).shape, type(a).shape);
  emit(OpKind::Where, {broadcast(c, s), broadcast(a, s), broadcast(b, s)}, {},
       std::max(facts_[a].bound, facts_[b].bound));
}

void Generator::reduce() {
  static constexpr OpKind kOps[] = {
      OpKind::Sum,    OpKind::Mean, OpKind::Max, OpKind::Min, OpKind::Prod, OpKind::Argmax,
      OpKind::Argmin, OpKind::Var,  OpKind::Std, OpKind::All, OpKind::Any,  OpKind::Logsumexp};
  OpKind op = kOps[rng_.below(std::size(kOps))];
  bool jumps =
      op == OpKind::Argmax || op == OpKind::Argmin || op == OpKind::All || op == OpKind::Any;
  ValueId x = jumps ? pick_exact() : pick();
  reduction(op, x, random_dims(rank(x), op == OpKind::Argmax || op == OpKind::Argmin),
            rng_.coin(0.4));
}

// op over dims of x (all when empty), its operand converted and clamped as the op needs.
ValueId Generator::reduction(OpKind op, ValueId x, std::vector<int64_t> dims, bool keepdim) {
  if (op == OpKind::Mean || op == OpKind::Var || op == OpKind::Std || op == OpKind::Logsumexp)
    x = to_float(x);
  Attrs attrs;
  if (!dims.empty()) attrs.set("dims", std::move(dims));
  if (keepdim) attrs.set("keepdim", true);
  if ((op == OpKind::Var || op == OpKind::Std) && rng_.coin(0.5))
    attrs.set("correction", int64_t(0));
  double n = 1;
  for (int64_t d : reduced_dims(op, type(x), attrs)) n *= static_cast<double>(type(x).shape[d]);
  double b = facts_[x].bound;
  if (op == OpKind::Prod) {  // keep products of many factors near 1
    if (n > 12) fail("fuzz: prod over {} elements", n);
    x = clamp(x, -1.5, 1.5);
    b = std::pow(1.5, n);
  }
  switch (op) {
    case OpKind::Sum: b *= n; break;
    case OpKind::Argmax:
    case OpKind::Argmin: b = n; break;
    case OpKind::Var: b = 4 * b * b * n; break;
    case OpKind::Std: b = 2 * b * std::sqrt(n); break;
    case OpKind::Logsumexp: b += std::log(n + 1); break;
    default: break;
  }
  return emit(op, {x}, std::move(attrs), b);
}

void Generator::matmul() {
  ValueId a = pick();
  if (type(a).dtype == DType::Bool) a = to_float(a);
  if (rank(a) < 2) {
    Shape s = type(a).shape;
    s.insert(s.begin(), 2 - rank(a), 1);
    a = emit(OpKind::Reshape, {a}, {{"shape", s}}, facts_[a].bound);
  }
  a = clamp(a, -4.0, 4.0);
  TensorType want = type(a);
  std::swap(want.shape[want.shape.size() - 2], want.shape.back());
  want.shape.back() = rng_.coin(0.2) ? 1 : 1 + rng_.below(opt_.max_dim);
  ValueId b = clamp(partner(a, want), -4.0, 4.0);
  emit(OpKind::Matmul, {a, b}, {}, 16 * static_cast<double>(type(a).shape.back()));
}

void Generator::movement() {
  ValueId x = pick();
  const Shape &s = type(x).shape;
  int64_t r = rank(x), kind = rng_.below(5);
  double b = facts_[x].bound;
  if (kind == 0) {  // permute, often a transpose of two dims
    std::vector<int64_t> perm(r);
    std::iota(perm.begin(), perm.end(), 0);
    for (int64_t i = r - 1; i > 0; --i) std::swap(perm[i], perm[rng_.below(i + 1)]);
    if (r > 0 && rng_.coin(0.2)) perm[0] -= r;  // negative dims are accepted too
    emit(OpKind::Permute, {x}, {{"perm", perm}}, b);
  } else if (kind == 1) {  // slice with a step
    if (r == 0) fail("fuzz: slice of a scalar");
    int64_t dim = rng_.below(r), size = s[dim], start = rng_.below(size + 1);
    int64_t stop = start + rng_.below(size - start + 1), step = 1 + rng_.below(3);
    Attrs a;
    if (dim != 0) a.set("dim", rng_.coin(0.3) ? dim - r : dim);
    if (start != 0) a.set("start", start);
    if (stop != size) a.set("stop", stop);
    if (step != 1) a.set("step", step);
    emit(OpKind::Slice, {x}, std::move(a), b);
  } else if (kind == 2) {  // broadcast (expand): new leading dims, size-1 dims widened
    Shape t = s;
    for (int64_t &d : t)
      if (d == 1 && rng_.coin(0.6)) d = 2 + rng_.below(opt_.max_dim - 1);
    for (int64_t i = rng_.below(3); i > 0 && static_cast<int>(t.size()) < opt_.max_rank; --i)
      t.insert(t.begin(), 1 + rng_.below(opt_.max_dim));
    emit(OpKind::Broadcast, {x}, {{"shape", t}}, b);
  } else if (kind == 3) {  // reshape: the dims' factors regrouped
    std::vector<int64_t> factors;
    for (int64_t d : s)
      for (int64_t n = d, f = 2; n > 1;)
        if (n % f == 0)
          factors.push_back(f), n /= f;
        else
          ++f;
    for (int64_t i = static_cast<int64_t>(factors.size()) - 1; i > 0; --i)
      std::swap(factors[i], factors[rng_.below(i + 1)]);
    Shape t(static_cast<size_t>(rng_.below(opt_.max_rank + 1)), 1);
    if (t.empty() && !factors.empty()) t.push_back(1);
    for (int64_t f : factors) t[rng_.below(static_cast<int64_t>(t.size()))] *= f;
    if (numel(s) == 0) t.insert(t.begin() + rng_.below(static_cast<int64_t>(t.size()) + 1), 0);
    emit(OpKind::Reshape, {x}, {{"shape", t}}, b);
  } else {  // cat of x with values that differ from it only along dim
    if (r == 0) fail("fuzz: cat of a scalar");
    int64_t dim = rng_.below(r);
    std::vector<ValueId> parts = {x};
    for (ValueId v : pool_) {
      const Shape &t = type(v).shape;
      bool fits = type(v).dtype == type(x).dtype && rank(v) == r && parts.size() < 3;
      for (int64_t d = 0; fits && d < r; ++d) fits = d == dim || t[d] == s[d];
      if (fits && rng_.coin(0.5)) parts.push_back(v), b = std::max(b, facts_[v].bound);
    }
    if (parts.size() == 1) parts.push_back(x);
    Attrs a;
    if (dim != 0) a.set("dim", dim);
    emit(OpKind::Cat, parts, std::move(a), b);
  }
}

void Generator::source() {
  DType d = random_dtype();
  int64_t n = rng_.below(opt_.max_dim + 1), kind = rng_.below(8);
  if (kind >= 6) {  // random ops, at a seed and offset of their own (the replay's, as written)
    const Attrs where{{"seed", int64_t(rng_.below(1000))}, {"offset", int64_t(rng_.below(1000))}};
    if (kind == 7 && rng_.coin(0.5)) {
      ValueId x = to_float(pick());
      Attrs a = where;
      a.set("p", rng_.coin(0.2) ? 1.0 : double(1 + rng_.below(8)) / 10);
      emit(OpKind::Dropout, {x}, std::move(a), 10 * facts_[x].bound + 1);
      return;
    }
    const Shape s = rng_.coin(0.5) ? shape_like(base_) : Shape{n};
    const int64_t which = rng_.below(3);
    Attrs a = where;
    a.set("shape", s);
    if (which == 2) {
      const DType id = rng_.coin(0.5) ? DType::I64 : DType::I32;
      a.set("dtype", id).set("low", int64_t{-3}).set("high", int64_t{1 + rng_.below(9)});
      emit(OpKind::Randint, {}, std::move(a), 9);
    } else {
      a.set("dtype", rng_.coin(0.5) ? DType::F32 : DType::F64);
      emit(which == 0 ? OpKind::Rand : OpKind::Randn, {}, std::move(a), which == 0 ? 1 : 8);
    }
    return;
  }
  if (kind == 0 && d != DType::Bool) {
    double start = double(rng_.below(7) - 3),
           step = double(1 + rng_.below(3)) / (is_floating(d) ? 2 : 1);
    emit(OpKind::Arange, {}, {{"shape", Shape{n}}, {"dtype", d}, {"start", start}, {"step", step}},
         std::abs(start) + step * n);
  } else if (kind == 1 && is_floating(d)) {
    emit(OpKind::Linspace, {}, {{"shape", Shape{n}}, {"dtype", d}, {"start", -1.5}, {"end", 2.0}},
         2);
  } else if (kind == 2) {
    emit(OpKind::Eye, {}, {{"shape", Shape{n, 1 + rng_.below(opt_.max_dim)}}, {"dtype", d}}, 1);
  } else {  // a scalar constant, or a filled tensor broadcastable to the base shape
    Shape s = rng_.coin(0.5) ? Shape{} : shape_like(base_);
    static constexpr double kSpecial[] = {0.0, 1.0, -1.0, 0.5, 2.0, NAN, INFINITY, -0.0};
    AttrValue v = int64_t(rng_.below(11) - 5);
    double b = 5;
    if (d == DType::Bool)
      v = rng_.coin(0.5);
    else if (is_floating(d) && rng_.coin(0.3))
      v = kSpecial[rng_.below(std::size(kSpecial))], b = INFINITY;
    else if (is_floating(d))
      v = std::round(rng_.uniform(-3, 3) * 8) / 8;
    emit(OpKind::Full, {}, {{"shape", s}, {"dtype", d}, {"value", v}}, b);
  }
}

void Generator::composite() {
  ValueId x = to_float(pick());
  int64_t r = rank(x), kind = rng_.below(6);
  auto trailing = [&](int64_t axes) {
    const Shape &s = type(x).shape;
    return TensorType{type(x).dtype, Shape(s.end() - axes, s.end())};
  };
  if (kind == 0) {
    OpKind op = rng_.coin(0.5) ? OpKind::Softmax : OpKind::LogSoftmax;
    Attrs a;
    if (r > 0 && rng_.coin(0.7)) a.set("dim", rng_.below(2 * r) - r);
    emit(op, {x}, std::move(a), op == OpKind::Softmax ? 1 : 2 * facts_[x].bound + 7);
  } else if (kind == 1 || kind == 2) {  // layer_norm and rms_norm, with weight and bias
    OpKind op = kind == 1 ? OpKind::LayerNorm : OpKind::RmsNorm;
    if (r == 0) fail("fuzz: norm of a scalar");
    int64_t axes = 1 + rng_.below(r);
    x = clamp(x, -4.0, 4.0);
    std::vector<ValueId> in = {x};
    for (int i = 0, n = static_cast<int>(rng_.below(op == OpKind::LayerNorm ? 3 : 2)); i < n; ++i)
      in.push_back(clamp(partner(x, trailing(axes)), -4.0, 4.0));
    Attrs a;
    if (axes != 1) a.set("axes", axes);
    // Not the default 1e-5: on a constant row, x - mean is a rounding error that
    // 1/sqrt(eps) would amplify past the f32 tolerance.
    static constexpr double kEps[] = {1e-3, 1e-2, 0.1};
    a.set("eps", kEps[rng_.below(3)]);
    emit(op, in, std::move(a),
         16 * std::sqrt(static_cast<double>(numel(trailing(axes).shape))) + 4);
  } else if (kind == 3) {
    static const char *kModes[] = {"mean", "sum", "none"};
    std::string mode = kModes[rng_.below(3)];
    ValueId y = partner(x, type(x));
    Attrs a;
    if (mode != "mean") a.set("reduction", mode);
    double b = 4 * facts_[x].bound * facts_[x].bound *
               static_cast<double>(std::max<int64_t>(numel(type(x).shape), 1));
    emit(OpKind::MseLoss, {tame(x), tame(y)}, std::move(a), b);
  } else if (kind == 4) {  // cross_entropy; targets clamped into [0, classes)
    if (r != 1 && r != 2) fail("fuzz: cross_entropy needs [N, C] or [C] logits");
    int64_t classes = type(x).shape.back();
    if (classes == 0) fail("fuzz: cross_entropy with no classes");
    Shape ts = r == 2 ? Shape{type(x).shape[0]} : Shape{};
    ValueId t = clamp(partner(x, {DType::I64, ts}), 0, classes - 1);
    Attrs a;
    if (rng_.coin(0.5)) a.set("reduction", rng_.coin(0.5) ? "sum" : "none");
    emit(OpKind::CrossEntropy, {tame(x), t}, std::move(a), 2 * kMaxBound + 10);
  } else {  // embedding or one_hot; indices clamped into range
    ValueId idx = pick_exact();
    if (!is_integral(type(idx).dtype))
      idx = emit(OpKind::Convert, {idx}, {{"dtype", DType::I64}}, facts_[idx].bound);
    if (r == 2 && type(x).shape[0] > 0) {
      idx = clamp(idx, 0, type(x).shape[0] - 1);
      emit(OpKind::Embedding, {x, idx}, {}, facts_[x].bound);
    } else {
      int64_t classes = 1 + rng_.below(opt_.max_dim);
      emit(OpKind::OneHot, {clamp(idx, 0, classes - 1)}, {{"classes", classes}}, 1);
    }
  }
}

}  // namespace kiln::test::fuzz
