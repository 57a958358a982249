// The program generator's state, shared by program_gen.cpp (values, shapes, guards) and
// program_ops.cpp (one function per op family). Internal to tests/fuzz.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "program_gen.h"

namespace kiln::test::fuzz {

using ir::ValueId;
inline constexpr double kMaxBound = 100.0;  // float values beyond this are clamped to ±kMaxBound

// What the generator knows about a value beyond its type.
struct Facts {
  double bound = 0.0;     // |value| <= bound, or inf/NaN where bound is inf
  bool approx = false;    // eager and compiled may round it differently
  bool constant = false;  // computed from `full` alone, so fold-constants may fold it
};

class Generator {
 public:
  Generator(uint64_t seed, const GenOptions &options) : rng_(seed), opt_(options) {
    g_.name = "fuzz";
  }
  ir::Graph run();

 private:
  ValueId emit(OpKind op, std::vector<ValueId> operands, Attrs attrs, double bound);
  ValueId input(TensorType type);
  ValueId clamp(ValueId v, std::optional<double> lo, std::optional<double> hi);
  ValueId tame(ValueId v);
  ValueId to_float(ValueId v);
  ValueId at_least(ValueId v, double lo) { return clamp(v, lo, std::nullopt); }
  ValueId broadcast(ValueId v, const Shape &shape);
  std::pair<ValueId, ValueId> unify(ValueId a, ValueId b);
  ValueId pick();
  ValueId pick_exact();  // a value a discontinuous op may read
  ValueId partner(ValueId a, TensorType want);
  DType random_dtype(bool with_bool = true);
  Shape random_shape();
  Shape shape_like(const Shape &s);
  std::vector<int64_t> random_dims(int64_t rank, bool at_most_one);
  ValueId apply_binary(OpKind op, ValueId a, ValueId b);
  ValueId reduction(OpKind op, ValueId x, std::vector<int64_t> dims, bool keepdim);
  ValueId align(ValueId v, Shape to, const std::vector<int64_t> &kept_at);
  ValueId mix_dtype(ValueId v);
  ValueId computed();
  ValueId combine(ValueId a, ValueId b);
  void want_output(ValueId v) { extra_outputs_.push_back(v); }

  void unary();
  void binary();
  void where();
  void reduce();
  void matmul();
  void movement();
  void source();
  void composite();
  void reduce_back();
  void view_back();
  void row_chain();
  void linear();

  const TensorType &type(ValueId v) const { return g_.type(v); }
  bool floating(ValueId v) const { return is_floating(type(v).dtype); }
  int64_t rank(ValueId v) const { return static_cast<int64_t>(type(v).shape.size()); }

  Rng rng_;
  GenOptions opt_;
  ir::Graph g_;
  std::vector<Facts> facts_;
  Shape base_;
  std::vector<ValueId> pool_;           // values ops may read, in definition order
  std::vector<ValueId> extra_outputs_;  // values a pattern wants returned beside the last one
};

}  // namespace kiln::test::fuzz
