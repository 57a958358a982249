// Value and error cases for the creation ops. Expected tensors are built with from_vector in
// the target C++ type; random ops are checked by reseeding, ranges, moments of 100k samples
// and the Philox4x32-10 known-answer vector (Random123, counter 0, key 0).
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

#include "op_cases.h"

namespace kiln::test {
namespace {

using Cases = std::vector<OpCase>;
using Make = std::function<Tensor()>;

// Philox4x32-10 of counter 0 under key 0, from the Random123 known-answer vectors.
constexpr uint32_t kPhilox0[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};

void push(Cases &c, OpKind op, std::string name, Make fn, Tensor want, Tolerance tol = {}) {
  c.push_back({op,
               std::move(name),
               [fn](const std::vector<Tensor> &) { return fn(); },
               {},
               std::move(want),
               tol});
}

template <class T>
Tensor filled(const Shape &shape, T value) {
  return from_vector(std::vector<T>(static_cast<size_t>(numel(shape)), value), shape);
}

Tensor all_true(const Shape &shape) { return filled<bool>(shape, true); }

void add_full(Cases &c) {
  const int64_t big = (int64_t{1} << 62) + 1;
  push(
      c, OpKind::Full, "full f32 [2,3] of 1.5", [] { return full({2, 3}, 1.5); },
      filled<float>({2, 3}, 1.5f));
  push(
      c, OpKind::Full, "full with an int scalar is i64", [] { return full({2}, 7); },
      filled<int64_t>({2}, 7));
  push(
      c, OpKind::Full, "full with a bool scalar is bool", [] { return full({3}, true); },
      filled<bool>({3}, true));
  push(
      c, OpKind::Full, "full i64 of 2.5 truncates", [] { return full({2}, 2.5, DType::I64); },
      filled<int64_t>({2}, 2));
  push(
      c, OpKind::Full, "full i32 of -1.5 truncates", [] { return full({2}, -1.5, DType::I32); },
      filled<int32_t>({2}, -1));
  push(
      c, OpKind::Full, "full f64 0-dim", [] { return full({}, 0.1, DType::F64); },
      filled<double>({}, 0.1));
  push(
      c, OpKind::Full, "full 0-size [0,3]", [] { return full({0, 3}, 1); },
      filled<int64_t>({0, 3}, 1));
  push(
      c, OpKind::Full, "full i64 2^62+1 is exact", [=] { return full({2}, big); },
      filled<int64_t>({2}, big));
  push(
      c, OpKind::Full, "full f32 of 2^24+1 rounds", [] { return full({1}, 16777217, DType::F32); },
      filled<float>({1}, 16777216.0f));
  push(
      c, OpKind::Full, "full of inf and NaN",
      [] { return full({2}, std::numeric_limits<double>::infinity()); },
      filled<float>({2}, INFINITY));
  push(
      c, OpKind::Full, "full f64 of NaN", [] { return full({2}, std::nan(""), DType::F64); },
      filled<double>({2}, NAN));
  push(
      c, OpKind::Full, "full [300,400] (threaded fill)", [] { return full({300, 400}, 0.5); },
      filled<float>({300, 400}, 0.5f));
  push(
      c, OpKind::Full, "scalar_tensor(2.5) is f32 0-dim", [] { return scalar_tensor(2.5); },
      filled<float>({}, 2.5f));
  push(
      c, OpKind::Full, "scalar_tensor(3, f64)", [] { return scalar_tensor(3, DType::F64); },
      filled<double>({}, 3.0));
  push(c, OpKind::Full, "zeros f32", [] { return zeros({2, 3}); }, filled<float>({2, 3}, 0));
  push(c, OpKind::Full, "zeros f64", [] { return zeros({2}, DType::F64); }, filled<double>({2}, 0));
  push(
      c, OpKind::Full, "zeros i32", [] { return zeros({2}, DType::I32); }, filled<int32_t>({2}, 0));
  push(
      c, OpKind::Full, "zeros i64", [] { return zeros({2}, DType::I64); }, filled<int64_t>({2}, 0));
  push(
      c, OpKind::Full, "zeros bool", [] { return zeros({2}, DType::Bool); },
      filled<bool>({2}, false));
  push(c, OpKind::Full, "ones f32", [] { return ones({3, 1}); }, filled<float>({3, 1}, 1));
  push(c, OpKind::Full, "ones f64", [] { return ones({2}, DType::F64); }, filled<double>({2}, 1));
  push(c, OpKind::Full, "ones i32", [] { return ones({2}, DType::I32); }, filled<int32_t>({2}, 1));
  push(
      c, OpKind::Full, "ones i64 0-dim", [] { return ones({}, DType::I64); },
      filled<int64_t>({}, 1));
  push(
      c, OpKind::Full, "ones bool", [] { return ones({2}, DType::Bool); }, filled<bool>({2}, true));
  c.push_back({OpKind::Full,
               "zeros_like of a transposed i32 tensor",
               [](const std::vector<Tensor> &in) { return zeros_like(in[0]); },
               {from_vector<int32_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3}).transpose(0, 1)},
               filled<int32_t>({3, 2}, 0),
               {}});
  c.push_back({OpKind::Full,
               "ones_like of an f64 tensor",
               [](const std::vector<Tensor> &in) { return ones_like(in[0]); },
               {from_vector<double>({1, 2})},
               filled<double>({2}, 1),
               {}});
}

void add_arange(Cases &c) {
  const int64_t big = int64_t{1} << 62;
  std::vector<int64_t> iota(100000);
  std::iota(iota.begin(), iota.end(), 0);
  std::vector<double> tenths;
  for (int i = 0; i < 10; ++i) tenths.push_back(i * 0.1);
  push(
      c, OpKind::Arange, "arange(5) is i64", [] { return arange(5); },
      from_vector<int64_t>({0, 1, 2, 3, 4}));
  push(
      c, OpKind::Arange, "arange(5, f32)", [] { return arange(5, DType::F32); },
      from_vector<float>({0, 1, 2, 3, 4}));
  push(
      c, OpKind::Arange, "arange(1, 2.5, 0.5) is f32", [] { return arange(1, 2.5, 0.5); },
      from_vector<float>({1, 1.5, 2}));
  push(
      c, OpKind::Arange, "arange(10, 0, -3) counts down", [] { return arange(10, 0, -3); },
      from_vector<int64_t>({10, 7, 4, 1}));
  push(
      c, OpKind::Arange, "arange(0, 10, 3) rounds the count up", [] { return arange(0, 10, 3); },
      from_vector<int64_t>({0, 3, 6, 9}));
  push(
      c, OpKind::Arange, "arange(-5, 5, 2, i32)", [] { return arange(-5, 5, 2, DType::I32); },
      from_vector<int32_t>({-5, -3, -1, 1, 3}));
  push(c, OpKind::Arange, "arange(0, 1, 0.1, f64) has 10 elements",
       [] { return arange(0, 1, 0.1, DType::F64); }, from_vector(tenths), {1e-15, 0});
  push(
      c, OpKind::Arange, "arange(0.0, 1.0, 0.25)", [] { return arange(0.0, 1.0, 0.25); },
      from_vector<float>({0, 0.25, 0.5, 0.75}));
  push(
      c, OpKind::Arange, "arange(3, 3) is empty", [] { return arange(3, 3); },
      from_vector<int64_t>({}));
  push(
      c, OpKind::Arange, "arange(1, 4, 1, f64)", [] { return arange(1, 4, 1, DType::F64); },
      from_vector<double>({1, 2, 3}));
  push(
      c, OpKind::Arange, "arange near 2^62 is exact", [=] { return arange(big, big + 3); },
      from_vector<int64_t>({big, big + 1, big + 2}));
  push(
      c, OpKind::Arange, "arange(100000) (threaded fill)", [] { return arange(100000); },
      from_vector(iota));
}

void add_linspace(Cases &c) {
  std::vector<double> line(100001);
  for (size_t i = 0; i < line.size(); ++i) line[i] = -20 + 40 * static_cast<double>(i) / 100000;
  push(
      c, OpKind::Linspace, "linspace(0, 1, 5)", [] { return linspace(0, 1, 5); },
      from_vector<float>({0, 0.25, 0.5, 0.75, 1}));
  push(
      c, OpKind::Linspace, "linspace(1, 0, 3, f64) descends",
      [] { return linspace(1, 0, 3, DType::F64); }, from_vector<double>({1, 0.5, 0}));
  push(
      c, OpKind::Linspace, "linspace with one step is start", [] { return linspace(-1, 1, 1); },
      from_vector<float>({-1}));
  push(
      c, OpKind::Linspace, "linspace with zero steps is empty", [] { return linspace(0, 1, 0); },
      from_vector<float>({}));
  push(
      c, OpKind::Linspace, "linspace(0, 10, 4, i64) floors",
      [] { return linspace(0, 10, 4, DType::I64); }, from_vector<int64_t>({0, 3, 6, 10}));
  push(
      c, OpKind::Linspace, "linspace(2, 5, 4, i32)", [] { return linspace(2, 5, 4, DType::I32); },
      from_vector<int32_t>({2, 3, 4, 5}));
  push(
      c, OpKind::Linspace, "linspace ends exactly at end",
      [] { return linspace(0.1, 0.7, 7, DType::F64).slice(0, 6, 7); }, from_vector<double>({0.7}));
  push(c, OpKind::Linspace, "linspace(-20, 20, 100001, f64)",
       [] { return linspace(-20, 20, 100001, DType::F64); }, from_vector(line), {1e-13, 0});
  std::vector<float> line32(line.begin(), line.end());
  push(
      c, OpKind::Linspace, "linspace(-20, 20, 100001, f32)",
      [] { return linspace(-20, 20, 100001); }, from_vector(line32), default_tolerance(DType::F32));
}

void add_eye(Cases &c) {
  push(
      c, OpKind::Eye, "eye(3)", [] { return eye(3); },
      from_vector<float>({1, 0, 0, 0, 1, 0, 0, 0, 1}, Shape{3, 3}));
  push(
      c, OpKind::Eye, "eye(2, 4, i64)", [] { return eye(2, 4, DType::I64); },
      from_vector<int64_t>({1, 0, 0, 0, 0, 1, 0, 0}, Shape{2, 4}));
  push(
      c, OpKind::Eye, "eye(3, 2, bool)", [] { return eye(3, 2, DType::Bool); },
      from_vector<bool>({true, false, false, true, false, false}, Shape{3, 2}));
  push(
      c, OpKind::Eye, "eye(2, 2, f64)", [] { return eye(2, 2, DType::F64); },
      from_vector<double>({1, 0, 0, 1}, Shape{2, 2}));
  push(
      c, OpKind::Eye, "eye(2, 3, i32)", [] { return eye(2, 3, DType::I32); },
      from_vector<int32_t>({1, 0, 0, 0, 1, 0}, Shape{2, 3}));
  push(
      c, OpKind::Eye, "eye(0) is [0,0]", [] { return eye(0); },
      from_vector<float>({}, Shape{0, 0}));
  push(c, OpKind::Eye, "eye(1)", [] { return eye(1); }, from_vector<float>({1}, Shape{1, 1}));
  push(c, OpKind::Eye, "eye(3, 0)", [] { return eye(3, 0); }, from_vector<float>({}, Shape{3, 0}));
}

// Statistic `stat` of 100k samples drawn by `draw` after manual_seed(seed).
Make stat_of(uint64_t seed, std::function<Tensor()> draw,
             std::function<Tensor(const Tensor &)> stat) {
  return [=] {
    manual_seed(seed);
    return stat(draw());
  };
}

void add_random(Cases &c) {
  const Shape n{100000};
  auto mean_of = [](const Tensor &x) { return mean(x); };
  auto std_of = [](const Tensor &x) { return kiln::std(x); };
  auto in_unit = [](const Tensor &x) { return logical_and(x >= 0.0, x < 1.0); };
  for (DType d : {DType::F32, DType::F64}) {
    const std::string t(dtype_name(d));
    auto u = [=] { return rand({100000}, d); };
    auto g = [=] { return randn({100000}, d); };
    auto scalar = [d](double v) { return make({v}, {}, d); };
    push(c, OpKind::Rand, "rand " + t + " is in [0, 1)", stat_of(1, u, in_unit), all_true(n));
    push(c, OpKind::Rand, "rand " + t + " mean of 100k is 1/2", stat_of(2, u, mean_of), scalar(0.5),
         {0.01, 0});
    push(c, OpKind::Rand, "rand " + t + " std of 100k is 1/sqrt(12)", stat_of(3, u, std_of),
         scalar(1 / std::sqrt(12.0)), {0.01, 0});
    push(c, OpKind::Rand, "rand " + t + " lower tenth holds 10%",
         stat_of(4, u, [](const Tensor &x) { return mean((x < 0.1).to(DType::F32)); }),
         make({0.1}, {}), {0.01, 0});
    push(c, OpKind::Randn, "randn " + t + " mean of 100k is 0", stat_of(5, g, mean_of), scalar(0),
         {0.02, 0});
    push(c, OpKind::Randn, "randn " + t + " std of 100k is 1", stat_of(6, g, std_of), scalar(1),
         {0.02, 0});
    push(c, OpKind::Randn, "randn " + t + " 68.27% within one sigma",
         stat_of(7, g, [](const Tensor &x) { return mean((abs(x) < 1).to(DType::F32)); }),
         make({0.6827}, {}), {0.01, 0});
    push(c, OpKind::Randn, "randn " + t + " 95.45% within two sigma",
         stat_of(8, g, [](const Tensor &x) { return mean((abs(x) < 2).to(DType::F32)); }),
         make({0.9545}, {}), {0.01, 0});
    push(c, OpKind::Randn, "randn " + t + " is finite",
         stat_of(9, g, [](const Tensor &x) { return abs(x) < 20; }), all_true(n));
  }
  // Same seed, same values; the generator moves on between draws and counts elements.
  auto twice = [](std::function<Tensor()> draw, bool reseed) {
    return [=] {
      manual_seed(11);
      Tensor a = draw();
      if (reseed) manual_seed(11);
      return reseed ? a == draw() : a != draw();
    };
  };
  const std::pair<OpKind, std::function<Tensor()>> draws[] = {
      {OpKind::Rand, [] { return rand({1000}); }},
      {OpKind::Randn, [] { return randn({1000}, DType::F64); }},
      {OpKind::Randint, [] { return randint(-1000000, 1000000, {1000}); }}};
  for (const auto &[op, draw] : draws) {
    push(c, op, std::string(op_name(op)) + " with the same seed repeats", twice(draw, true),
         all_true({1000}));
    push(c, op, std::string(op_name(op)) + " without reseeding moves on", twice(draw, false),
         all_true({1000}));
  }
  manual_seed(12);
  Tensor five = rand({5}, DType::F64);
  push(
      c, OpKind::Rand, "rand continues the stream where the last draw ended",
      [] {
        manual_seed(12);
        (void)rand({3}, DType::F64);
        return rand({2}, DType::F64);
      },
      from_vector<double>({five.tolist<double>()[3], five.tolist<double>()[4]}));
  push(
      c, OpKind::Rand, "rand f32 is rand f64 rounded down to 24 bits",
      [] {
        manual_seed(13);
        Tensor wide = rand({1000}, DType::F64);
        manual_seed(13);
        return rand({1000}) == floor(wide * 16777216.0).to(DType::F32) / 16777216.0;
      },
      all_true({1000}));
  push(
      c, OpKind::Rand, "rand 0-size", [] { return rand({0, 3}); },
      from_vector<float>({}, Shape{0, 3}));
  push(
      c, OpKind::Randn, "randn 0-size f64", [] { return randn({2, 0}, DType::F64); },
      from_vector<double>({}, Shape{2, 0}));
  push(
      c, OpKind::Rand, "rand 0-dim is in [0, 1)",
      [] { return logical_and(rand({}) >= 0, rand({}) < 1); }, from_vector<bool>({true}, Shape{}));

  // Known answers: element 0 under seed 0 reads Philox(counter 0, key 0).
  const uint64_t bits53 = ((uint64_t{kPhilox0[0]} << 21) ^ kPhilox0[1]) & ((uint64_t{1} << 53) - 1);
  const double u1 = (static_cast<double>(kPhilox0[0]) + 1.0) * 0x1p-32;
  const double normal =
      std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * kPhilox0[2] * 0x1p-32);
  const uint64_t bits64 = (uint64_t{kPhilox0[0]} << 32) | kPhilox0[1];
  push(
      c, OpKind::Rand, "rand f64 known answer (Philox4x32-10, seed 0)",
      [] {
        manual_seed(0);
        return rand({1}, DType::F64);
      },
      from_vector<double>({static_cast<double>(bits53) * 0x1p-53}));
  push(c, OpKind::Randn, "randn f64 known answer (Box-Muller of Philox, seed 0)",
       [] {
         manual_seed(0);
         return randn({1}, DType::F64);
       },
       from_vector<double>({normal}), {1e-15, 1e-15});
  push(
      c, OpKind::Randint, "randint known answer (Philox, seed 0)",
      [] {
        manual_seed(0);
        return randint(0, 1000, {1});
      },
      from_vector<int64_t>({static_cast<int64_t>(bits64 % 1000)}));

  // randint: [low, high), every value drawn about equally often, any numeric dtype.
  auto ri = [] { return randint(-3, 4, {100000}); };
  push(c, OpKind::Randint, "randint(-3, 4) is in [-3, 4)",
       stat_of(20, ri, [](const Tensor &x) { return logical_and(x >= -3, x < 4); }), all_true(n));
  for (int k = -3; k < 4; ++k)
    push(c, OpKind::Randint, fmt::format("randint(-3, 4) draws {} a seventh of the time", k),
         stat_of(21, ri, [k](const Tensor &x) { return mean((x == k).to(DType::F32)); }),
         make({1.0 / 7}, {}), {0.01, 0});
  push(c, OpKind::Randint, "randint over a 2^41 range stays inside",
       stat_of(
           22, [] { return randint(-(int64_t{1} << 40), int64_t{1} << 40, {10000}); },
           [](const Tensor &x) {
             return logical_and(x >= -(int64_t{1} << 40), x < (int64_t{1} << 40));
           }),
       all_true({10000}));
  push(
      c, OpKind::Randint, "randint(5, 6) is all 5", [] { return randint(5, 6, {3}); },
      from_vector<int64_t>({5, 5, 5}));
  push(
      c, OpKind::Randint, "randint i32", [] { return randint(7, 8, {2}, DType::I32); },
      from_vector<int32_t>({7, 7}));
  push(c, OpKind::Randint, "randint f32 holds whole numbers in range",
       stat_of(
           23, [] { return randint(0, 10, {1000}, DType::F32); },
           [](const Tensor &x) { return logical_and(x == floor(x), logical_and(x >= 0, x < 10)); }),
       all_true({1000}));
  push(
      c, OpKind::Randint, "randint 0-size [0,2]", [] { return randint(0, 5, {0, 2}); },
      from_vector<int64_t>({}, Shape{0, 2}));
}

}  // namespace

std::vector<OpCase> creation_cases() {
  Cases cases;
  add_full(cases);
  add_arange(cases);
  add_linspace(cases);
  add_eye(cases);
  add_random(cases);
  return cases;
}

std::vector<OpErrorCase> creation_errors() {
  const double inf = std::numeric_limits<double>::infinity();
  return {
      {OpKind::Full, "full with a negative size", [] { (void)full({2, -1}, 1.0); },
       "full: size at dim 1 must be non-negative, got -1"},
      {OpKind::Full, "zeros with a negative size", [] { (void)zeros({-2}); },
       "zeros: size at dim 0 must be non-negative, got -2"},
      {OpKind::Full, "zeros_like of an undefined tensor", [] { (void)zeros_like(Tensor()); },
       "zeros_like: argument 0 is an undefined tensor"},
      {OpKind::Full, "ones with a negative size", [] { (void)ones({3, -3}); },
       "ones: size at dim 1 must be non-negative, got -3"},
      {OpKind::Full, "ones i64 with a negative size", [] { (void)ones({-1}, DType::I64); },
       "ones: size at dim 0 must be non-negative, got -1"},
      {OpKind::Full, "ones_like of an undefined tensor", [] { (void)ones_like(Tensor()); },
       "ones_like: argument 0 is an undefined tensor"},
      // from_vector copies user data rather than running an op; its checks sit with the
      // creation ops' and are held to the same wording.
      {OpKind::Full, "from_vector with too few elements for its shape",
       [] { (void)from_vector<float>({1, 2, 3}, Shape{2, 2}); },
       "from_vector: shape [2,2] needs 4 elements, got 3"},
      {OpKind::Full, "from_vector with too many elements for its shape",
       [] { (void)from_vector<int64_t>({1, 2, 3}, Shape{2}); },
       "from_vector: shape [2] needs 2 elements, got 3"},
      {OpKind::Full, "from_vector with a negative size",
       [] { (void)from_vector<float>({1, 2}, Shape{2, -1}); },
       "from_vector: size at dim 1 must be non-negative, got -1"},
      {OpKind::Full, "from_vector with two negative sizes whose product fits",
       [] { (void)from_vector<int32_t>({1, 2}, Shape{-1, -2}); },
       "from_vector: size at dim 0 must be non-negative, got -1"},
      {OpKind::Arange, "arange with step 0", [] { (void)arange(0, 5, 0); },
       "arange: step must be nonzero"},
      {OpKind::Arange, "arange stepping away from end", [] { (void)arange(0, 5, -1); },
       "arange: step -1 moves away from end: start=0 end=5"},
      {OpKind::Arange, "arange to inf", [=] { (void)arange(0, inf); },
       "arange: start, end and step must be finite, got 0, inf, 1"},
      {OpKind::Linspace, "linspace with negative steps", [] { (void)linspace(0, 1, -1); },
       "linspace: number of steps must be non-negative, got -1"},
      {OpKind::Eye, "eye with a negative size", [] { (void)eye(-1); },
       "eye: size at dim 0 must be non-negative, got -1"},
      {OpKind::Eye, "eye with a negative column count", [] { (void)eye(2, -3); },
       "eye: size at dim 1 must be non-negative, got -3"},
      {OpKind::Rand, "rand of i64", [] { (void)rand({2}, DType::I64); },
       "rand: dtype must be f32 or f64, got i64"},
      {OpKind::Rand, "rand with a negative size", [] { (void)rand({-1}); },
       "rand: size at dim 0 must be non-negative, got -1"},
      {OpKind::Randn, "randn of bool", [] { (void)randn({2}, DType::Bool); },
       "randn: dtype must be f32 or f64, got bool"},
      {OpKind::Randint, "randint with low == high", [] { (void)randint(5, 5, {2}); },
       "randint: low must be less than high, got low=5 high=5"},
      {OpKind::Randint, "randint with low > high", [] { (void)randint(3, -3, {2}); },
       "randint: low must be less than high, got low=3 high=-3"},
      {OpKind::Randint, "randint of bool", [] { (void)randint(0, 2, {2}, DType::Bool); },
       "randint: dtype must be numeric, got bool"},
  };
}

}  // namespace kiln::test
