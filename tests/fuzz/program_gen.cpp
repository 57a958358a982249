// The program generator: value bookkeeping, shapes, guards and the main loop. Magnitudes
// stay bounded (clamps guard domains and big values) and discontinuous ops never read an
// approximate float, so eager and compiled may differ only within tolerance, not by a jump.
#include "program_gen.h"

#include <algorithm>
#include <cmath>

#include "generator.h"
#include "ir/diag.h"
#include "ir/verify.h"

namespace kiln::test::fuzz {

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t Rng::below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }

namespace {

bool is_transcendental(OpKind op) {
  switch (op) {
    case OpKind::Exp:
    case OpKind::Log:
    case OpKind::Log1p:
    case OpKind::Expm1:
    case OpKind::Rsqrt:
    case OpKind::Sin:
    case OpKind::Cos:
    case OpKind::Tanh:
    case OpKind::Sigmoid:
    case OpKind::Gelu:
    case OpKind::Silu:
    case OpKind::Erf:
    case OpKind::Pow: return true;
    default: return false;
  }
}

// Float results whose eager kernel and compiled form (decomposed, or a reduction that may
// see another layout) can round differently.
bool is_reordered(OpKind op) {
  switch (op) {  // these pick an element (or test all), in any order
    case OpKind::Max:
    case OpKind::Min:
    case OpKind::Argmax:
    case OpKind::Argmin:
    case OpKind::All:
    case OpKind::Any: return false;
    default: break;
  }
  switch (op_info(op).category) {
    case OpCategory::Reduce:
    case OpCategory::Contraction:
    case OpCategory::Composite: return true;
    default: return op == OpKind::Gelu || op == OpKind::Silu;
  }
}

}  // namespace

ValueId Generator::emit(OpKind op, std::vector<ValueId> operands, Attrs attrs, double bound) {
  ValueId v = g_.add_node(op, operands, std::move(attrs));
  facts_.resize(g_.num_values());
  Facts f{.bound = bound, .approx = false, .constant = op == OpKind::Full};
  bool all_constant = !operands.empty();
  for (ValueId o : operands) {
    f.approx |= facts_[o].approx;
    all_constant &= facts_[o].constant;
  }
  f.constant |= all_constant;
  if (is_floating(type(v).dtype))
    f.approx |= is_reordered(op) || (all_constant && is_transcendental(op));
  if (!is_floating(type(v).dtype)) f.approx = false;  // ints come from exact values only
  if (type(v).dtype == DType::Bool) f.bound = 1;
  facts_[v] = f;
  pool_.push_back(v);
  return v;
}

ValueId Generator::input(TensorType type) {
  ValueId v = g_.add_input(fmt::format("x{}", g_.inputs.size()), std::move(type));
  facts_.resize(g_.num_values());
  facts_[v].bound = is_floating(g_.type(v).dtype) ? 6.0 : 10.0;  // randn, randint(0, 10)
  pool_.push_back(v);
  return v;
}

ValueId Generator::clamp(ValueId v, std::optional<double> lo, std::optional<double> hi) {
  Attrs a;
  bool ints = !floating(v);
  if (lo) ints ? a.set("min", int64_t(*lo)) : a.set("min", *lo);
  if (hi) ints ? a.set("max", int64_t(*hi)) : a.set("max", *hi);
  double b = facts_[v].bound;
  if (hi) b = std::min(b, std::abs(*hi) + (lo ? std::abs(*lo) : b));
  if (lo) b = std::max(b, std::abs(*lo));
  if (lo && hi) b = std::max(std::abs(*lo), std::abs(*hi));
  return emit(OpKind::Clamp, {v}, std::move(a), b);
}

ValueId Generator::tame(ValueId v) {
  if (!floating(v) || !(facts_[v].bound > kMaxBound)) return v;
  return clamp(v, -kMaxBound, kMaxBound);
}

ValueId Generator::to_float(ValueId v) {
  if (floating(v)) return v;
  DType d = rng_.coin(0.7) ? DType::F32 : DType::F64;
  return emit(OpKind::Convert, {v}, {{"dtype", d}}, facts_[v].bound);
}

ValueId Generator::broadcast(ValueId v, const Shape &shape) {
  if (type(v).shape == shape) return v;
  return emit(OpKind::Broadcast, {v}, {{"shape", shape}}, facts_[v].bound);
}

// The frontend's implicit broadcasting and promotion, as explicit nodes.
std::pair<ValueId, ValueId> Generator::unify(ValueId a, ValueId b) {
  Shape s = broadcast_shapes("fuzz", type(a).shape, type(b).shape);
  DType d = promote_types(type(a).dtype, type(b).dtype);
  if (type(a).dtype != d) a = emit(OpKind::Convert, {a}, {{"dtype", d}}, facts_[a].bound);
  if (type(b).dtype != d) b = emit(OpKind::Convert, {b}, {{"dtype", d}}, facts_[b].bound);
  return {broadcast(a, s), broadcast(b, s)};
}

ValueId Generator::pick() {  // biased to recent values, for deep chains
  int64_t n = static_cast<int64_t>(pool_.size());
  return pool_[std::max(rng_.below(n), rng_.below(n))];
}

ValueId Generator::pick_exact() {
  for (int tries = 0; tries < 8; ++tries)
    if (ValueId v = pick(); !facts_[v].approx) return v;
  fail("fuzz: no exact value found");
}

// A value of type `want` for a second operand: a matching value or a fresh input.
ValueId Generator::partner(ValueId a, TensorType want) {
  std::vector<ValueId> same;
  for (ValueId v : pool_)
    if (v != a && type(v) == want) same.push_back(v);
  if (!same.empty() && rng_.coin(0.6)) return same[rng_.below(static_cast<int64_t>(same.size()))];
  if (static_cast<int>(g_.inputs.size()) < opt_.max_inputs) return input(std::move(want));
  return emit(OpKind::Full, {}, {{"shape", want.shape}, {"dtype", want.dtype}, {"value", 0.5}},
              0.5);
}

DType Generator::random_dtype(bool with_bool) {
  constexpr DType kOrder[] = {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool};
  constexpr int kWeights[] = {45, 20, 10, 10, 15};
  int64_t r = rng_.below(with_bool ? 100 : 85);
  for (int i = 0;; r -= kWeights[i++])
    if (r < kWeights[i]) return kOrder[i];
}

// Often square or with coinciding sizes ([3,3], [2,2,5,2]), where a reduced value
// broadcast back may line up with dims other than the ones it was reduced from.
Shape Generator::random_shape() {
  Shape s(static_cast<size_t>(rng_.below(opt_.max_rank + 1)));
  const int64_t same = rng_.coin(0.5) ? 2 + rng_.below(opt_.max_dim - 1) : -1;
  for (int64_t &d : s)
    d = rng_.coin(0.05)               ? 0
        : same > 0 && rng_.coin(0.75) ? same
        : rng_.coin(0.25)             ? 1
                                      : 2 + rng_.below(opt_.max_dim - 1);
  return s;
}

// A shape that broadcasts to s: leading dims dropped, some dims set to 1.
Shape Generator::shape_like(const Shape &s) {
  Shape out(s.begin() + rng_.below(static_cast<int64_t>(s.size()) + 1) / 2, s.end());
  for (int64_t &d : out)
    if (rng_.coin(0.15)) d = 1;
  return out;
}

std::vector<int64_t> Generator::random_dims(int64_t rank, bool at_most_one) {
  std::vector<int64_t> dims;
  if (rank == 0 || rng_.coin(0.25)) return dims;
  for (int64_t d = 0; d < rank; ++d)
    if (rng_.coin(0.4)) dims.push_back(rng_.coin(0.3) ? d - rank : d);
  if (dims.empty()) dims.push_back(rng_.below(rank));
  if (at_most_one) dims.resize(1);
  return dims;
}

ir::Graph Generator::run() {
  // Each op family with its weight out of 100.
  static constexpr std::pair<int64_t, void (Generator::*)()> kFamilies[] = {
      {16, &Generator::unary},     {16, &Generator::binary},   {3, &Generator::where},
      {7, &Generator::reduce},     {4, &Generator::matmul},    {11, &Generator::movement},
      {3, &Generator::source},     {5, &Generator::composite}, {12, &Generator::reduce_back},
      {11, &Generator::view_back}, {7, &Generator::row_chain}, {5, &Generator::linear}};
  base_ = random_shape();
  for (int64_t i = 0, n = 1 + rng_.below(3); i < n; ++i) input({random_dtype(), shape_like(base_)});
  int target = opt_.min_nodes + static_cast<int>(rng_.below(opt_.max_nodes - opt_.min_nodes + 1));
  for (int made = 0, attempts = 0; made < target && attempts < 20 * target; ++attempts) {
    size_t before = g_.nodes.size();
    try {
      int64_t r = rng_.below(100);
      for (const auto &[weight, make] : kFamilies) {
        if (r < weight) {
          (this->*make)();
          break;
        }
        r -= weight;
      }
      if (g_.nodes.size() > before) tame(g_.nodes.back().result);
    } catch (const Error &) {
      // An invalid random choice (the type rule said no); helper nodes made so far stay as
      // dead code, which the compiled side's dce must remove.
    }
    if (g_.nodes.size() > before) ++made;
  }
  if (g_.nodes.empty()) emit(OpKind::LogicalNot, {g_.inputs[0]}, {}, 1);
  g_.outputs.push_back(g_.nodes.back().result);
  for (ValueId v : extra_outputs_)  // a view or a reduced value beside its source
    if (g_.outputs.size() < 4 &&
        std::find(g_.outputs.begin(), g_.outputs.end(), v) == g_.outputs.end())
      g_.outputs.push_back(v);
  std::vector<int32_t> uses = ir::use_counts(g_);
  for (int i = 0, extra = static_cast<int>(rng_.below(3)); i < extra; ++i) {
    ValueId v = g_.nodes[rng_.below(static_cast<int64_t>(g_.nodes.size()))].result;
    if (std::find(g_.outputs.begin(), g_.outputs.end(), v) == g_.outputs.end() &&
        (uses[v] == 0 || rng_.coin(0.3)))
      g_.outputs.push_back(v);
  }
  // Most values nothing reads are returned too, latest first, so the patterns above are
  // compiled rather than removed as dead code; the rest stay for dce.
  uses = ir::use_counts(g_);
  for (auto n = g_.nodes.rbegin(); n != g_.nodes.rend() && g_.outputs.size() < 6; ++n)
    if (uses[n->result] == 0 && rng_.coin(0.7)) g_.outputs.push_back(n->result);
  ir::verify(g_);
  return std::move(g_);
}

ir::Graph generate(uint64_t seed, const GenOptions &options) {
  return Generator(seed, options).run();
}

}  // namespace kiln::test::fuzz
