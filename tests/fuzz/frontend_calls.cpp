// Random linear and matmul calls through the public API: their shapes are drawn the way
// torch defines the ops, so eager must accept every one, and compiled must agree with it.
#include "frontend_calls.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "differential.h"
#include "kiln/kiln.h"

namespace kiln::test::fuzz {
namespace {

struct Call {
  bool linear = false;
  DType dtype = DType::F32;
  std::vector<Shape> shapes;  // linear: x, weight[, bias]; matmul: a, b
};

// Sizes 0 to 4, 0 one time in five.
int64_t size(Rng &rng) { return rng.coin(0.2) ? 0 : 1 + rng.below(4); }

Call draw(uint64_t seed) {
  Rng rng(seed ^ 0x6c696e656172ULL);
  Call c{.linear = rng.coin(0.5), .dtype = rng.coin(0.7) ? DType::F32 : DType::F64, .shapes = {}};
  const int64_t k = size(rng), n = size(rng);
  if (c.linear) {
    Shape x(static_cast<size_t>(rng.below(4)));  // leading dims of x: 0 to 3
    for (int64_t &d : x) d = size(rng);
    x.push_back(k);
    c.shapes = {x, {n, k}};
    if (rng.coin(0.6)) c.shapes.push_back({n});
    return c;
  }
  // Batch dims right-aligned, each 1 on one side or equal (torch.matmul broadcasting).
  const int64_t ra = 1 + rng.below(4), rb = 1 + rng.below(4), m = size(rng);
  Shape batch(static_cast<size_t>(std::max<int64_t>(std::max(ra, rb) - 2, 0)));
  for (int64_t &d : batch) d = size(rng);
  auto operand = [&](int64_t rank, Shape last) {  // rank >= 2
    Shape s(batch.end() - (rank - 2), batch.end());
    for (int64_t &d : s)
      if (rng.coin(0.3)) d = 1;
    s.insert(s.end(), last.begin(), last.end());
    return s;
  };
  c.shapes = {ra == 1 ? Shape{k} : operand(ra, {m, k}), rb == 1 ? Shape{k} : operand(rb, {k, n})};
  return c;
}

std::string describe(const Call &c) {
  std::vector<std::string> args;
  const char *names[] = {c.linear ? "x" : "a", c.linear ? "w" : "b", "b"};
  for (size_t i = 0; i < c.shapes.size(); ++i)
    args.push_back(
        fmt::format("{}: {}{}", names[i], dtype_name(c.dtype), format_shape(c.shapes[i])));
  return fmt::format("{}({})", c.linear ? "linear" : "matmul", fmt::join(args, ", "));
}

}  // namespace

std::string frontend_call(uint64_t seed) { return describe(draw(seed)); }

std::string frontend_check(uint64_t seed) {
  const Call c = draw(seed);
  manual_seed(seed);
  std::vector<Tensor> inputs;
  for (const Shape &s : c.shapes) inputs.push_back(randn(s, c.dtype));
  Program fn = [linear = c.linear](std::vector<Tensor> xs) {
    if (!linear) return std::vector<Tensor>{matmul(xs[0], xs[1])};
    return std::vector<Tensor>{kiln::linear(xs[0], xs[1], xs.size() > 2 ? xs[2] : Tensor())};
  };
  const Tolerance tol = c.dtype == DType::F32 ? Tolerance{1e-4, 1e-4} : Tolerance{1e-9, 1e-9};
  std::string what = check_program(fn, inputs, std::vector<Tolerance>{tol}, {});
  return what.empty() ? "" : fmt::format("{}: {}", describe(c), what);
}

}  // namespace kiln::test::fuzz
