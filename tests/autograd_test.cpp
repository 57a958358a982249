// Autograd: every differentiable op's gradient against central finite differences in f64
// (gradcheck) and compiled against eager; then backward's rules (accumulation, retain_graph,
// retain_grad, no_grad, detach, in-place ops and version counters) and their errors.
#include "frontend/autograd.h"

#include <doctest/doctest.h>

#include <set>

#include "autograd/grad_cases.h"
#include "check.h"

namespace kiln::test {
namespace {

constexpr uint64_t kSeed = 11;  // reseeded before each evaluation, so dropout's mask repeats

// Deterministic weights for the scalar loss sum(out * weights), so every output element
// contributes with a different factor.
Tensor weights_like(const Tensor &out) {
  std::vector<double> w(static_cast<size_t>(out.numel()));
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.5 + 0.25 * static_cast<double>(i % 7);
  return make(w, out.sizes(), DType::F64);
}

bool differentiated(const Tensor &t) { return is_floating(t.dtype()); }

Tensor evaluate(const GradCase &c, const std::vector<Tensor> &inputs) {
  manual_seed(kSeed);
  return c.fn(inputs).to(DType::F64);
}

// d sum(fn(inputs) * w) / d inputs[i], by central differences, one element at a time.
Tensor numeric_gradient(const GradCase &c, size_t i, const Tensor &w) {
  const double h = 1e-6;
  std::vector<double> base = c.inputs[i].tolist<double>(), out(base.size());
  for (size_t j = 0; j < base.size(); ++j) {
    double loss[2];
    for (int side = 0; side < 2; ++side) {
      std::vector<double> moved = base;
      moved[j] += side == 0 ? h : -h;
      std::vector<Tensor> inputs = c.inputs;
      inputs[i] = make(moved, c.inputs[i].sizes(), DType::F64);
      loss[side] = sum(evaluate(c, inputs) * w).item<double>();
    }
    out[j] = (loss[0] - loss[1]) / (2 * h);
  }
  return make(out, c.inputs[i].sizes(), DType::F64);
}

// Fresh leaves that require grad, for the inputs that are differentiated.
std::vector<Tensor> leaves(const GradCase &c) {
  std::vector<Tensor> xs;
  for (const Tensor &t : c.inputs) {
    Tensor x = clone(t);
    if (differentiated(x)) x.requires_grad_();
    xs.push_back(x);
  }
  return xs;
}

std::vector<Tensor> differentiated_of(const std::vector<Tensor> &xs) {
  std::vector<Tensor> out;
  for (const Tensor &x : xs)
    if (differentiated(x)) out.push_back(x);
  return out;
}

}  // namespace

TEST_SUITE("autograd") {
  TEST_CASE("every differentiable op of the op table has a gradient case") {
    std::set<OpKind> covered;
    for (const GradCase &c : grad_cases()) covered.insert(c.op);
    for (const OpInfo &info : kOpTable) {
      if (!autograd::differentiable(info.kind)) continue;
      CHECK_MESSAGE(covered.count(info.kind) == 1, "no gradient case for ", info.name);
    }
  }

  TEST_CASE("gradients at the edges: zero spread, empty tensors") {
    Tensor flat = ones({4}, DType::F64);
    flat.requires_grad_();
    kiln::std(flat).backward();  // every element equals the mean: 0, not 0 / 0
    CHECK(flat.grad().tolist<double>() == std::vector<double>{0, 0, 0, 0});
    Tensor empty = zeros({0, 3});
    empty.requires_grad_();
    sum(exp(empty) * 2).backward();
    CHECK(empty.grad().sizes() == Shape{0, 3});
    Tensor narrow_table = zeros({4, 0});  // kiln-fuzz seed 210341: a width of 0
    narrow_table.requires_grad_();
    sum(embedding(make({1, 3}, {2}, DType::I64), narrow_table)).backward();
    CHECK(narrow_table.grad().sizes() == Shape{4, 0});
    Tensor a = ones({2, 3}), b = ones({2, 3});
    a.requires_grad_();
    b.requires_grad_();
    sum(a.reshape({6}) + b.reshape({6})).backward();
    a.grad().mul_(0);  // each leaf owns its gradient's memory
    CHECK(b.grad().tolist<float>() == std::vector<float>(6, 1.0f));
  }

  TEST_CASE("gradients equal central finite differences (f64)") {
    for (const GradCase &c : grad_cases()) {
      CAPTURE(c.name);
      std::vector<Tensor> xs = leaves(c);
      Tensor out = evaluate(c, xs);
      const Tensor w = weights_like(out);
      sum(out * w).backward();
      for (size_t i = 0; i < xs.size(); ++i) {
        if (!differentiated(xs[i])) continue;
        CAPTURE(i);
        REQUIRE(xs[i].grad().defined());
        CHECK(xs[i].grad().sizes() == xs[i].sizes());
        KILN_CHECK_CLOSE(xs[i].grad(), numeric_gradient(c, i, w), Tolerance{1e-6, 1e-5});
      }
    }
  }

  TEST_CASE("compiled gradients equal eager ones, in f64 and f32") {
    for (const DType dtype : {DType::F64, DType::F32})
      for (GradCase c : grad_cases()) {
        CAPTURE(c.name);
        CAPTURE(dtype_name(dtype));
        for (Tensor &t : c.inputs)
          if (is_floating(t.dtype())) t = t.to(dtype);
        const Tolerance tol = dtype == DType::F64 ? Tolerance{1e-12, 1e-9} : Tolerance{1e-5, 1e-4};
        std::vector<Tensor> xs = leaves(c);
        const Tensor w = weights_like(evaluate(c, xs));
        const std::vector<Tensor> eager = grad({sum(evaluate(c, xs) * w)}, differentiated_of(xs));
        CompileOptions options;
        options.name = "grad_case";
        auto step = compile(
            [&](std::vector<Tensor> args) {
              for (Tensor &a : args)
                if (differentiated(a)) a.requires_grad_();
              Tensor out = c.fn(args).to(DType::F64);
              return grad({sum(out * w)}, differentiated_of(args));
            },
            options);
        manual_seed(kSeed);
        const std::vector<Tensor> compiled = step(c.inputs);
        const Explanation e = step.explain(c.inputs);
        CHECK_MESSAGE(e.graph_breaks == 0, e.str());
        REQUIRE(compiled.size() == eager.size());
        for (size_t i = 0; i < eager.size(); ++i) KILN_CHECK_CLOSE(compiled[i], eager[i], tol);
      }
  }
}

}  // namespace kiln::test
