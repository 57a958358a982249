// Training: backward's rules and errors, in-place ops and version counters, nn modules and
// their state files, optimizers against hand-computed updates, and the classic MLP trained
// eagerly and with a compiled forward + backward, step by step.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "check.h"

namespace kiln::test {
namespace {

Tensor leaf(const std::vector<double> &v, const Shape &shape, DType dtype = DType::F32) {
  Tensor t = make(v, shape, dtype);
  t.requires_grad_();
  return t;
}

std::filesystem::path temp_file(const std::string &name) {
  return std::filesystem::temp_directory_path() /
         (name + "-" + std::to_string(::getpid()) + ".safetensors");
}

}  // namespace

TEST_SUITE("autograd") {
  TEST_CASE("backward accumulates into leaves; zero_grad clears") {
    Tensor x = leaf({1, -2, 3}, {3});
    Tensor y = sum(x * x);
    CHECK(y.requires_grad());
    CHECK(y.grad_fn_name() == "sum");
    CHECK_FALSE(y.is_leaf());
    CHECK(x.is_leaf());
    y.backward();
    CHECK(x.grad().tolist<float>() == std::vector<float>{2, -4, 6});
    sum(x * 3).backward();  // a second graph adds to the same grad
    CHECK(x.grad().tolist<float>() == std::vector<float>{5, -1, 9});
    x.set_grad(Tensor());
    CHECK_FALSE(x.grad().defined());
  }

  TEST_CASE("a gradient flows through every path, each node once") {
    Tensor x = leaf({2}, {1});
    Tensor a = x * 3, b = exp(x);
    Tensor y = sum(a * b + a + b * b);  // d/dx = 3e^x + 3xe^x + 3 + 2e^2x
    y.backward();
    const double e2 = std::exp(2.0);
    CHECK(x.grad().item<float>() ==
          doctest::Approx(3 * e2 + 6 * e2 + 3 + 2 * e2 * e2).epsilon(1e-5));
  }

  TEST_CASE("retain_graph, retain_grad, detach, no_grad") {
    Tensor x = leaf({1, 2}, {2});
    Tensor h = x * 2;
    h.retain_grad();
    Tensor y = sum(h * h);
    y.backward({}, /*retain_graph=*/true);
    CHECK(h.grad().tolist<float>() == std::vector<float>{4, 8});
    y.backward();
    CHECK(x.grad().tolist<float>() == std::vector<float>{16, 32});
    CHECK(error_message([&] { y.backward(); }) ==
          "backward: the graph through sum was already freed by an earlier backward\n"
          "  hint: pass retain_graph = true to the first backward to go through it twice");

    Tensor d = (x * 2).detach();
    CHECK_FALSE(d.requires_grad());
    {
      NoGradGuard no_grad;
      CHECK_FALSE((x * 2).requires_grad());
    }
    CHECK((x * 2).requires_grad());
    CHECK_FALSE(no_grad([&] { return x + 1; }).requires_grad());
  }

  TEST_CASE("grad() returns gradients without touching .grad()") {
    Tensor x = leaf({1, 2, 3}, {3}), w = leaf({0.5}, {1});
    Tensor h = x * w;
    std::vector<Tensor> g = grad({sum(h * h)}, {x, h});
    CHECK(g[0].tolist<float>() == std::vector<float>{0.5, 1, 1.5});
    CHECK(g[1].tolist<float>() == std::vector<float>{1, 2, 3});
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(w.grad().defined());
    Tensor unused = leaf({1}, {1});
    CHECK(error_message([&] { (void)grad({sum(x * 2)}, {unused}); }) ==
          "grad: input 0 was not used to compute the outputs\n"
          "  hint: pass allow_unused = true to get zeros for it");
    CHECK(grad({sum(x * 2)}, {unused}, {}, false, true)[0].tolist<float>() ==
          std::vector<float>{0});
  }

  TEST_CASE("gradients keep the input's dtype across conversions") {
    Tensor x = leaf({1, 2}, {2}, DType::F32);
    Tensor y = sum(x.to(DType::F64) * 3.0);
    CHECK(y.dtype() == DType::F64);
    y.backward();
    CHECK(x.grad().dtype() == DType::F32);
    CHECK(x.grad().tolist<float>() == std::vector<float>{3, 3});
  }

  TEST_CASE("backward's errors name what to do") {
    Tensor plain = ones({2});
    CHECK(error_message([&] { sum(plain).backward(); }) ==
          "backward: output 0 does not require grad: no tensor it came from had "
          "requires_grad_() set, or it was computed under NoGradGuard");
    Tensor x = leaf({1, 2}, {2});
    CHECK(error_message([&] { (x * 2).backward(); }) ==
          "backward: the tensor has shape [2], not one element, so its gradient must be given\n"
          "  hint: pass a gradient of shape [2], or reduce the tensor first (sum, mean)");
    CHECK(error_message([&] { (x * 2).backward(ones({3})); }) ==
          "backward: the gradient has shape [3], expected the tensor's shape [2]");
    CHECK(error_message([&] { ones({2}, DType::I64).requires_grad_(); }) ==
          "requires_grad_: only floating-point tensors can require gradients, got i64");
    CHECK(error_message([&] { (x * 2).requires_grad_(false); }) ==
          "requires_grad_: this tensor was made by mul from tensors that require grad, so it "
          "always does\n  hint: detach() gives the same data without history");
    (x * 2).backward(ones({2}));
    CHECK(x.grad().tolist<float>() == std::vector<float>{2, 2});
  }

  TEST_CASE("in-place ops: results, history, and the version check") {
    Tensor t = make({1, 2, 3}, {3});
    t.add_(ones({3}), 2).mul_(2).sub_(1).clamp_(0, 9);
    CHECK(t.tolist<float>() == std::vector<float>{5, 7, 9});
    Tensor v = t.slice(0, 1, 3);
    v.zero_();
    CHECK(t.tolist<float>() == std::vector<float>{5, 0, 0});
    t.fill_(4).div_(2);
    CHECK(t.tolist<float>() == std::vector<float>{2, 2, 2});
    CHECK(error_message([&] { ones({1}).expand({3}).add_(1); }) ==
          "add_: cannot write into [3]: its elements share memory along dim 0 (an expanded view)");
    Tensor ints = ones({2}, DType::I64);
    CHECK(error_message([&] { ints.mul_(0.5); }) ==
          "mul_: the result is f32, which cannot be written into a i64 tensor");

    // Recorded: a = 2x, then a += x and a *= x in place: d sum(a) / dx = 2 * (3x) = 6x.
    Tensor x = leaf({1, 2}, {2});
    Tensor a = x * 2;
    a.add_(x).mul_(x);
    sum(a).backward();
    CHECK(x.grad().tolist<float>() == std::vector<float>{6, 12});

    CHECK(error_message([&] { x.add_(1); }) ==
          "add_: a leaf tensor that requires grad cannot be changed in place while gradients "
          "are recorded\n  hint: make the update under kiln::NoGradGuard, as an optimizer does");
    CHECK(error_message([&] { x.slice(0, 0, 1).zero_(); }) ==
          "zero_: the tensor is a view (made by slice) of a tensor whose gradient is recorded, "
          "and a write through it would not reach that tensor's gradient\n  hint: clone() the "
          "view first, or make the write under kiln::NoGradGuard");
    // Views of a non-leaf: a write through one is refused, and a view whose base changed
    // since cannot be differentiated.
    Tensor y = x * 2;
    CHECK(error_message([&] {
            y.slice(0, 0, 1).mul_(3);
          }).rfind("mul_: the tensor is a view (made by slice)", 0) == 0);
    Tensor view = y.slice(0, 0, 1);
    y.mul_(3);
    CHECK(error_message([&] { sum(view).backward(); }) ==
          "backward: the view made by slice was changed in place since it was taken (by mul_; "
          "version 1, expected 0)\n  hint: take the view after the in-place op, or clone() it");
    Tensor copied = clone(y.slice(0, 0, 1));
    copied.mul_(3);
    sum(copied).backward();  // fine: the clone has memory of its own
    no_grad([&] { return x.add_(1); });
    CHECK(x.tolist<float>() == std::vector<float>{2, 3});

    // sigmoid saves its output to differentiate; changing it afterwards is caught.
    Tensor s = sigmoid(x);
    s.mul_(2);
    CHECK(error_message([&] { sum(s).backward(); }) ==
          "backward: a tensor that sigmoid saved for its gradient was changed in place since "
          "(by mul_; version 1, expected 0)\n  hint: write that update out of place, or clone() "
          "the tensor before changing it");
  }

  TEST_CASE("nn modules: parameters, names, train and eval") {
    manual_seed(0);
    nn::Sequential model({nn::linear(5, 10), nn::relu(), nn::linear(10, 1, false)});
    std::vector<std::string> names;
    for (auto &[name, p] : model.named_parameters()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight"});
    for (const Tensor &p : model.parameters()) {
      CHECK(p.requires_grad());
      CHECK(p.is_leaf());
      CHECK(max(abs(p)).item<float>() <= 1.0f / std::sqrt(5.0f) + 1e-6f);
    }
    Tensor out = model(randn({4, 5}));
    CHECK(out.sizes() == Shape{4, 1});
    sum(out).backward();
    for (const Tensor &p : model.parameters()) CHECK(p.grad().defined());
    model.zero_grad();
    for (const Tensor &p : model.parameters()) CHECK_FALSE(p.grad().defined());

    nn::Dropout drop(0.5);
    Tensor x = ones({1000});
    CHECK(sum(drop(x) == 0).item<int64_t>() > 300);
    drop.eval();
    CHECK(sum(drop(x) == 0).item<int64_t>() == 0);

    nn::LayerNorm norm({4});
    nn::RMSNorm rms({4});
    nn::Embedding emb(10, 4);
    Tensor e = emb(make({1, 7}, {2}, DType::I64));
    CHECK(norm(e).sizes() == Shape{2, 4});
    CHECK(rms(e).sizes() == Shape{2, 4});
    CHECK(nn::Sequential({std::make_shared<nn::GELU>(), std::make_shared<nn::SiLU>(),
                          std::make_shared<nn::Tanh>(), std::make_shared<nn::Sigmoid>()})
              .forward(e)
              .sizes() == Shape{2, 4});
  }

  TEST_CASE("state files round-trip, and loading says what does not fit") {
    manual_seed(1);
    nn::Sequential a({nn::linear(3, 4), nn::relu(), nn::linear(4, 2)});
    manual_seed(2);
    nn::Sequential b({nn::linear(3, 4), nn::relu(), nn::linear(4, 2)});
    const auto path = temp_file("kiln-state");
    nn::save(a, path);
    nn::load(b, path);
    for (size_t i = 0; i < a.parameters().size(); ++i)
      CHECK(a.parameters()[i].tolist<float>() == b.parameters()[i].tolist<float>());
    const nn::NamedTensors loaded = nn::load_tensors(path);
    CHECK(loaded.size() == 4);
    CHECK(loaded[0].first == "0.weight");

    nn::Sequential wider({nn::linear(3, 5), nn::relu(), nn::linear(5, 2)});
    CHECK(error_message([&] { nn::load(wider, path); }) ==
          "load_state_dict: '0.weight' has shape [4,3] in the state, but [5,3] in the module");
    nn::Sequential shorter({nn::linear(3, 4)});
    CHECK(error_message([&] { nn::load(shorter, path); }) ==
          "load_state_dict: unexpected key '2.weight': the module has no parameter of that name");
    nn::Sequential longer({nn::linear(3, 4), nn::relu(), nn::linear(4, 2), nn::linear(2, 2)});
    CHECK(error_message([&] { nn::load(longer, path); }) ==
          "load_state_dict: missing key '3.weight': the module has it, the state does not");
    nn::load(longer, path, /*strict=*/false);

    // Every dtype round-trips; a header that lies is an error, never a read past the end.
    nn::save_tensors({{"b", make({1, 0, 1}, {3}, DType::Bool)},
                      {"i", make({-3, 7}, {2}, DType::I32)},
                      {"l", make({1e12}, {1}, DType::I64)},
                      {"d", make({0.1, -2.5}, {1, 2}, DType::F64)}},
                     path);
    const nn::NamedTensors all = nn::load_tensors(path);
    REQUIRE(all.size() == 4);
    CHECK(all[0].second.tolist<bool>() == std::vector<bool>{true, false, true});
    CHECK(all[1].second.tolist<int32_t>() == std::vector<int32_t>{-3, 7});
    CHECK(all[2].second.item<int64_t>() == 1000000000000);
    CHECK(all[3].second.sizes() == Shape{1, 2});
    CHECK(all[3].second.tolist<double>() == std::vector<double>{0.1, -2.5});
    auto write_header = [&](const std::string &json) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      const uint64_t n = json.size();
      out.write(reinterpret_cast<const char *>(&n), 8);
      out << json << "abcd";
    };
    const std::string prefix = "load_tensors: '" + path.string() + "' is not a safetensors file: ";
    write_header(R"({"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}})");
    CHECK(error_message([&] { (void)nn::load_tensors(path); }) ==
          prefix + "entry 'x' has a bad shape");
    write_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}})");
    CHECK(error_message([&] { (void)nn::load_tensors(path); }) ==
          prefix + "entry 'x' has data_offsets that are not byte offsets");
    write_header(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})");
    CHECK(error_message([&] { (void)nn::load_tensors(path); }) ==
          prefix + "entry 'x' has data_offsets that do not fit its shape or the file");

    std::filesystem::resize_file(path, 20);
    CHECK(error_message([&] {
            (void)nn::load_tensors(path);
          }).rfind("load_tensors: '" + path.string() + "' is not a safetensors file: ", 0) == 0);
    std::filesystem::remove(path);
  }

  TEST_CASE("SGD with momentum, nesterov and weight decay match hand-computed steps") {
    const double lr = 0.1, mu = 0.9, wd = 0.01;
    Tensor p = leaf({1, 2}, {2}, DType::F64);
    optim::SGD sgd({p}, {.lr = lr, .momentum = mu, .weight_decay = wd, .nesterov = true});
    std::vector<double> ref = {1, 2}, buf(2);
    const std::vector<double> g = {0.5, -1};
    for (int step = 0; step < 3; ++step) {
      p.set_grad(make(g, {2}, DType::F64));
      sgd.step();
      for (size_t i = 0; i < 2; ++i) {
        const double gi = g[i] + wd * ref[i];
        buf[i] = step == 0 ? gi : mu * buf[i] + gi;
        ref[i] -= lr * (gi + mu * buf[i]);
      }
      KILN_CHECK_CLOSE(p, make(ref, {2}, DType::F64), Tolerance{1e-15, 1e-14});
    }
    CHECK(error_message([] { optim::SGD bad({leaf({1}, {1})}, {.nesterov = true}); }) ==
          "SGD: nesterov needs a positive momentum and zero dampening");
  }

  TEST_CASE("Adam and AdamW match hand-computed steps") {
    for (bool decoupled : {false, true}) {
      CAPTURE(decoupled);
      const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
      Tensor p = leaf({1, -2}, {2}, DType::F64);
      std::unique_ptr<optim::Optimizer> opt;
      if (decoupled)
        opt = std::make_unique<optim::AdamW>(std::vector<Tensor>{p},
                                             optim::AdamWOptions{.lr = lr, .weight_decay = wd});
      else
        opt = std::make_unique<optim::Adam>(std::vector<Tensor>{p},
                                            optim::AdamOptions{.lr = lr, .weight_decay = wd});
      std::vector<double> ref = {1, -2}, m(2), v(2);
      for (int t = 1; t <= 4; ++t) {
        const std::vector<double> g = {0.3 * t, -0.7};
        p.set_grad(make(g, {2}, DType::F64));
        opt->step();
        for (size_t i = 0; i < 2; ++i) {
          double gi = g[i];
          if (decoupled)
            ref[i] *= 1 - lr * wd;
          else
            gi += wd * ref[i];
          m[i] = b1 * m[i] + (1 - b1) * gi;
          v[i] = b2 * v[i] + (1 - b2) * gi * gi;
          const double mhat = m[i] / (1 - std::pow(b1, t)), vhat = v[i] / (1 - std::pow(b2, t));
          ref[i] -= lr * mhat / (std::sqrt(vhat) + eps);
        }
        KILN_CHECK_CLOSE(p, make(ref, {2}, DType::F64), Tolerance{1e-12, 1e-12});
      }
    }
    CHECK(error_message([] { optim::Adam bad({ones({1})}); }) ==
          "Adam: parameter 0 does not require grad\n  hint: call requires_grad_() on it");
    CHECK(error_message([] { optim::Adam bad({leaf({1}, {1}) * 2}); }) ==
          "Adam: parameter 0 was made by mul from other tensors, not a leaf it can update\n"
          "  hint: pass detach() of it, with requires_grad_()");

    // AdamW's default decay is PyTorch's 1e-2; Adam's per-parameter step count skips a
    // parameter without a gradient, as PyTorch's per-parameter state does.
    Tensor a = leaf({1}, {1}, DType::F64), b = leaf({1}, {1}, DType::F64);
    optim::AdamW adamw({a, b}, {.lr = 0.1});
    a.set_grad(zeros({1}, DType::F64));
    adamw.step();  // zero gradient: only the decay moves it
    CHECK(a.item<double>() == doctest::Approx(1 - 0.1 * 1e-2));
    CHECK(b.item<double>() == 1.0);
    CHECK(adamw.steps_taken(0) == 1);
    CHECK(adamw.steps_taken(1) == 0);
  }

  TEST_CASE("a whole training step compiles: forward, backward and the optimizer's update") {
    manual_seed(0);
    const Tensor xs = randn({128, 5});
    const Tensor ys = matmul(xs, randn({5, 1})) + randn({128, 1}) * 0.1;
    for (int kind = 0; kind < 3; ++kind) {
      CAPTURE(kind);
      struct Run {
        std::vector<double> losses;
        std::vector<Tensor> params, grads;
        Explanation explained;
      };
      auto run = [&](bool compiled) {
        manual_seed(1);
        nn::Sequential model({nn::linear(5, 10), nn::relu(), nn::linear(10, 1)});
        std::unique_ptr<optim::Optimizer> opt;
        if (kind == 0)
          opt = std::make_unique<optim::SGD>(model.parameters(),
                                             optim::SGDOptions{.lr = 0.05, .momentum = 0.9});
        else if (kind == 1)
          opt = std::make_unique<optim::Adam>(model.parameters(), optim::AdamOptions{.lr = 1e-2});
        else
          opt = std::make_unique<optim::AdamW>(
              model.parameters(), optim::AdamWOptions{.lr = 1e-2, .weight_decay = 0.1});
        auto step = [&](const Tensor &x, const Tensor &y) {
          opt->zero_grad();
          Tensor loss = mse_loss(model(x), y);
          loss.backward();
          opt->step();
          return loss;
        };
        auto compiled_step = compile(step, {.name = "train_step"});
        Run r;
        for (int i = 0; i < 8; ++i) {
          if (i == 5) opt->set_lr(opt->lr() / 4);  // a schedule: read at each call
          const Tensor x = xs.narrow(0, (i % 2) * 64, 64), y = ys.narrow(0, (i % 2) * 64, 64);
          r.losses.push_back((compiled ? compiled_step(x, y) : step(x, y)).item<double>());
        }
        if (compiled) r.explained = compiled_step.explain(xs.narrow(0, 0, 64), ys.narrow(0, 0, 64));
        r.params = model.parameters();
        for (const Tensor &p : r.params) r.grads.push_back(p.grad());
        return r;
      };
      const Run eager = run(false), compiled = run(true);
      CHECK(compiled.explained.graphs == 1);
      CHECK(compiled.explained.graph_breaks == 0);
      for (size_t i = 0; i < eager.losses.size(); ++i) {
        CAPTURE(i);
        CHECK(compiled.losses[i] == doctest::Approx(eager.losses[i]).epsilon(1e-5));
      }
      for (size_t i = 0; i < eager.params.size(); ++i) {
        KILN_CHECK_CLOSE(compiled.params[i], eager.params[i], Tolerance{1e-5, 1e-4});
        REQUIRE(compiled.grads[i].defined());
        KILN_CHECK_CLOSE(compiled.grads[i], eager.grads[i], Tolerance{1e-5, 1e-4});
      }
    }
  }

  TEST_CASE("a training step over a varying batch compiles for the first size and then once") {
    // MSE's mean divides by the batch: a size the kernels read at each call.
    manual_seed(0);
    const Tensor xs = randn({128, 5});
    const Tensor ys = matmul(xs, randn({5, 1})) + randn({128, 1}) * 0.1;
    const std::vector<int64_t> batches = {64, 32, 48, 17, 100, 64, 2, 128};
    auto run = [&](bool compiled) {
      manual_seed(1);
      nn::Sequential model({nn::linear(5, 10), nn::relu(), nn::linear(10, 1)});
      optim::Adam opt(model.parameters(), optim::AdamOptions{.lr = 1e-2});
      auto step = [&](const Tensor &x, const Tensor &y) {
        opt.zero_grad();
        Tensor loss = mse_loss(model(x), y);
        loss.backward();
        opt.step();
        return loss;
      };
      auto compiled_step = compile(step, {.name = "varying_batch"});
      std::vector<double> losses;
      for (int64_t b : batches) {
        const Tensor x = xs.narrow(0, 0, b), y = ys.narrow(0, 0, b);
        losses.push_back((compiled ? compiled_step(x, y) : step(x, y)).item<double>());
      }
      if (compiled) {
        const Explanation ex = compiled_step.explain(xs.narrow(0, 0, 9), ys.narrow(0, 0, 9));
        CHECK(ex.graphs == 2);
        CHECK(ex.graph_breaks == 0);
      }
      std::vector<Tensor> params = model.parameters();
      return std::pair{losses, params};
    };
    const auto [eager_losses, eager_params] = run(false);
    const auto [losses, params] = run(true);
    for (size_t i = 0; i < losses.size(); ++i) {
      CAPTURE(i);
      CHECK(losses[i] == doctest::Approx(eager_losses[i]).epsilon(1e-5));
    }
    for (size_t i = 0; i < params.size(); ++i)
      KILN_CHECK_CLOSE(params[i], eager_params[i], Tolerance{1e-5, 1e-4});
  }

  TEST_CASE("compiled in-place writes to captured tensors: written back, read back, or a break") {
    // Written, then read in the same call: every call sees its own write, and so does eager.
    Tensor w = make({1, 2, 3}, {3}), counter = zeros({}, DType::I64);
    auto bump = compile(
        [&](const Tensor &x) {
          w.add_(x);
          counter.add_(1);
          return w * 2;
        },
        {.name = "bump"});
    for (int i = 1; i <= 3; ++i) {
      CHECK(bump(ones({3})).tolist<float>() ==
            std::vector<float>{2.0f * (1 + i), 2.0f * (2 + i), 2.0f * (3 + i)});
      CHECK(counter.item<int64_t>() == i);
    }
    CHECK(w.tolist<float>() == std::vector<float>{4, 5, 6});
    CHECK(bump.explain(ones({3})).graph_breaks == 0);

    // Each of these would read old values in a graph, so each runs eagerly (and says why).
    struct Case {
      std::string name, break_op;
      std::function<Tensor(const Tensor &)> fn;
    };
    Tensor base = make({1, 2, 3}, {3});
    const Tensor outside_view = base.slice(0, 0, 2);
    const std::vector<Case> cases = {
        {"a view taken before the write, read after", "mul",
         [&](const Tensor &x) {
           Tensor v = base.slice(0, 0, 2);
           base.add_(x);
           return v * 1;
         }},
        {"a write through a view", "add_",
         [&](const Tensor &x) {
           base.slice(0, 0, 2).add_(x.slice(0, 0, 2));
           return base * 1;
         }},
        {"a write to an argument", "mul_", [&](const Tensor &x) { return x.mul_(2) + base; }},
        {"a view made outside, read after the base is written",
         "a view of a tensor written in place",
         [&](const Tensor &x) {
           base.add_(x);
           return outside_view * 1;
         }},
    };
    for (const Case &c : cases) {
      CAPTURE(c.name);
      base.copy_(make({1, 2, 3}, {3}));
      Tensor arg = ones({3});
      const Tensor want = c.fn(arg);
      const std::vector<float> base_after = base.tolist<float>();
      base.copy_(make({1, 2, 3}, {3}));
      arg = ones({3});
      auto f = compile(c.fn, {.name = "writes", .quiet_fallback = true});
      const Tensor got = f(arg);
      CHECK(got.tolist<float>() == want.tolist<float>());
      CHECK(base.tolist<float>() == base_after);
      const Explanation e = f.explain(ones({3}));
      REQUIRE(e.entries.size() == 1);
      CHECK(e.entries[0].break_op == c.break_op);
    }
  }

  TEST_CASE("a backward that needs a value an in-place write changed fails compiled as eagerly") {
    Tensor w = leaf({1, 2}, {2});
    auto f = [&](const Tensor &x) {
      Tensor loss = sum(w * x);
      no_grad([&] { return w.mul_(2); });
      loss.backward();
      return loss;
    };
    const std::string message =
        "backward: a tensor that mul saved for its gradient was changed in place since (by mul_; "
        "version 1, expected 0)\n  hint: write that update out of place, or clone() the tensor "
        "before changing it";
    CHECK(error_message([&] { f(ones({2})); }) == message);
    Tensor w2 = leaf({1, 2}, {2});
    auto g = compile(
        [&](const Tensor &x) {
          Tensor loss = sum(w2 * x);
          no_grad([&] { return w2.mul_(2); });
          loss.backward();
          return loss;
        },
        {.name = "changed"});
    CHECK(error_message([&] { g(ones({2})); }) == message);
  }

  TEST_CASE(
      "compiled gradient code follows eager when grads accumulate, modes change, or "
      "requires_grad changes") {
    // No zero_grad: each call adds to .grad(), so the first call (undefined) and later ones
    // (defined) are different programs; both compile, and the sum is written in place.
    auto accumulate = [](bool compiled) {
      Tensor w = leaf({1, 2}, {2});
      auto body = [&](const Tensor &x) {
        Tensor loss = sum(w * w * x);
        loss.backward();
        return loss;
      };
      auto f = compile(body, {.name = "accumulate"});
      std::vector<std::vector<float>> grads;
      for (int i = 1; i <= 4; ++i) {
        (void)(compiled ? f(full({2}, i)) : body(full({2}, i)));
        grads.push_back(w.grad().tolist<float>());
      }
      if (compiled) {
        const Explanation e = f.explain(ones({2}));
        CHECK(e.graphs == 2);
        CHECK(e.graph_breaks == 0);
      }
      return grads;
    };
    CHECK(accumulate(true) == accumulate(false));

    // Inference under NoGradGuard compiles; with recording on, the result must keep its
    // history, so that guard set runs eagerly and says why.
    manual_seed(0);
    nn::Sequential model({nn::linear(3, 4), nn::relu(), nn::linear(4, 1)});
    auto forward = compile([&](const Tensor &x) { return model(x); },
                           {.name = "forward", .quiet_fallback = true});
    const Tensor x = randn({2, 3});
    Tensor inferred = no_grad([&] { return forward(x); });
    CHECK_FALSE(inferred.requires_grad());
    Tensor recorded = forward(x);
    CHECK(recorded.requires_grad());
    KILN_CHECK_CLOSE(recorded.detach(), inferred, Tolerance{1e-6, 1e-6});
    sum(recorded).backward();
    CHECK(model.parameters()[0].grad().defined());
    const Explanation e = forward.explain(x);
    REQUIRE(e.entries.size() == 2);
    CHECK(e.entries[0].compiled);
    CHECK(e.entries[1].break_op == "return");

    // An argument that requires grad: eager, with its gradient.
    auto through = compile([](const Tensor &a) { return sum(a * a).detach(); },
                           {.name = "through", .quiet_fallback = true});
    Tensor a = leaf({3}, {1});
    (void)through(a);
    CHECK(through.explain(a).entries[0].break_op == "argument 'arg0'");

    // Freezing a layer between calls: the entry goes stale and the step is traced again.
    auto freeze = [](bool compiled) {
      manual_seed(3);
      nn::Sequential m({nn::linear(3, 2)});
      optim::SGD opt(m.parameters(), {.lr = 0.1});
      auto body = [&](const Tensor &in) {
        opt.zero_grad();
        Tensor loss = sum(m(in) * m(in));
        loss.backward();
        opt.step();
        return loss;
      };
      auto f = compile(body, {.name = "freeze"});
      const Tensor in = ones({4, 3});
      for (int i = 0; i < 4; ++i) {
        if (i == 2) m.parameters()[0].requires_grad_(false);
        (void)(compiled ? f(in) : body(in));
      }
      return m.parameters()[0];
    };
    KILN_CHECK_CLOSE(freeze(true), freeze(false), Tolerance{1e-6, 1e-5});
  }

  TEST_CASE("a spiral classifier with cross_entropy reaches 90% eagerly and compiled alike") {
    // examples/train_classifier.cpp's data and model: three interleaved spiral arms.
    manual_seed(0);
    const int64_t n = 600;
    const Tensor i = arange(n, DType::I64);
    const Tensor labels = fmod(i, 3);
    const Tensor r = floor(i.to(DType::F32) / 3) / (n / 3);
    const Tensor angle = labels.to(DType::F32) * 4.0 + r * 4.0 + randn({n}) * 0.2;
    const Tensor points = stack({r * sin(angle), r * cos(angle)}, 1);
    auto run = [&](bool compiled) {
      manual_seed(1);
      nn::Sequential model({nn::linear(2, 64), nn::relu(), nn::linear(64, 3)});
      optim::Adam opt(model.parameters(), {.lr = 1e-2});
      auto step = [&](const Tensor &x, const Tensor &y) {
        opt.zero_grad();
        Tensor loss = cross_entropy(model(x), y);
        loss.backward();
        opt.step();
        return loss;
      };
      auto compiled_step = compile(step, {.name = "classifier_step"});
      std::vector<double> losses;
      for (int epoch = 0; epoch < 40; ++epoch)
        for (int64_t b = 0; b < 10; ++b) {
          const Tensor x = points.narrow(0, b * 60, 60), y = labels.narrow(0, b * 60, 60);
          losses.push_back((compiled ? compiled_step(x, y) : step(x, y)).item<double>());
        }
      NoGradGuard no_grad;
      const double accuracy =
          mean((argmax(model(points), 1) == labels).to(DType::F32)).item<double>();
      return std::make_pair(losses, accuracy);
    };
    const auto [eager_losses, eager_accuracy] = run(false);
    const auto [compiled_losses, compiled_accuracy] = run(true);
    CHECK(eager_accuracy >= 0.9);
    CHECK(compiled_accuracy == doctest::Approx(eager_accuracy).epsilon(0.01));
    for (size_t k = 0; k < eager_losses.size(); k += 10) {
      CAPTURE(k);
      CHECK(compiled_losses[k] == doctest::Approx(eager_losses[k]).epsilon(1e-4));
    }
  }

  TEST_CASE("a compiled optimizer step alone reads each call's .grad()") {
    auto run = [](bool compiled) {
      Tensor w = leaf({1, 2}, {2});
      optim::SGD opt({w}, {.lr = 0.1, .momentum = 0.5});
      auto body = [&](const Tensor &scale) {
        opt.step();
        return w.detach() * scale;
      };
      auto step = compile(body, {.name = "opt_step"});
      std::vector<std::vector<float>> seen;
      auto call = [&] {
        seen.push_back((compiled ? step(ones({2})) : body(ones({2}))).tolist<float>());
      };
      call();  // no gradient yet: nothing moves
      for (int i = 1; i <= 3; ++i) {
        opt.zero_grad();
        sum(w * w * static_cast<double>(i)).backward();  // a new .grad() tensor each time
        call();
      }
      sum(w).backward();  // added to the last one
      call();
      return seen;
    };
    const auto eager = run(false), compiled = run(true);
    REQUIRE(eager.size() == compiled.size());
    CHECK(eager.back() != eager.front());
    for (size_t i = 0; i < eager.size(); ++i)
      for (size_t j = 0; j < 2; ++j) CHECK(compiled[i][j] == doctest::Approx(eager[i][j]));
  }

  TEST_CASE("a compiled function follows its modules' train() and eval()") {
    NoGradGuard no_grad;
    manual_seed(0);
    nn::Sequential m({nn::linear(4, 64), std::make_shared<nn::Dropout>(0.5)});
    auto f = compile([&](const Tensor &x) { return m(x); }, {.name = "modes"});
    const Tensor x = randn({8, 4});
    manual_seed(5);
    const Tensor trained = f(x);
    manual_seed(5);
    KILN_CHECK_CLOSE(trained, m(x), Tolerance{1e-6, 1e-6});
    CHECK(sum(trained == 0).item<int64_t>() > 100);  // dropout at work
    m.eval();
    KILN_CHECK_CLOSE(f(x), m(x), Tolerance{1e-6, 1e-6});
    CHECK(sum(f(x) == 0).item<int64_t>() < 10);
    m.train();
    manual_seed(5);
    KILN_CHECK_CLOSE(f(x), trained, Tolerance{1e-6, 1e-6});
    CHECK(f.explain(x).graphs == 2);
  }

  TEST_CASE("the classic MLP trains the same eagerly and with a compiled forward + backward") {
    manual_seed(0);
    const Tensor xs = randn({256, 5});
    const Tensor ys = matmul(xs, randn({5, 1})) + randn({256, 1}) * 0.1;
    struct Run {
      std::vector<double> losses;
      std::vector<Tensor> params;
    };
    auto run = [&](bool compiled) {
      manual_seed(1);
      nn::Sequential model({nn::linear(5, 10), nn::relu(), nn::linear(10, 1)});
      optim::Adam opt(model.parameters(), {.lr = 1e-2});
      const std::vector<Tensor> params = model.parameters();
      auto step = compile(
          [&](const Tensor &x, const Tensor &y) {
            Tensor loss = mse_loss(model(x), y);
            std::vector<Tensor> out = grad({loss}, params);
            out.insert(out.begin(), loss);
            return out;
          },
          {.name = "mlp_step"});
      Run r;
      for (int epoch = 0; epoch < 3; ++epoch)
        for (int64_t b = 0; b < 4; ++b) {
          const Tensor x = xs.narrow(0, b * 64, 64), y = ys.narrow(0, b * 64, 64);
          Tensor loss;
          if (compiled) {
            std::vector<Tensor> out = step(x, y);
            loss = out[0];
            for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(out[i + 1]);
          } else {
            opt.zero_grad();
            loss = mse_loss(model(x), y);
            loss.backward();
          }
          opt.step();
          r.losses.push_back(loss.item<double>());
        }
      if (compiled) {
        const Explanation e = step.explain(xs.narrow(0, 0, 64), ys.narrow(0, 0, 64));
        CHECK(e.graphs == 1);
        CHECK(e.graph_breaks == 0);
      }
      r.params = params;
      return r;
    };
    const Run eager = run(false), compiled = run(true);
    REQUIRE(eager.losses.size() == compiled.losses.size());
    for (size_t i = 0; i < eager.losses.size(); ++i) {
      CAPTURE(i);
      CHECK(compiled.losses[i] == doctest::Approx(eager.losses[i]).epsilon(1e-5));
    }
    CHECK(eager.losses.back() < eager.losses.front());
    for (size_t i = 0; i < eager.params.size(); ++i)
      KILN_CHECK_CLOSE(compiled.params[i], eager.params[i], Tolerance{1e-5, 1e-4});
  }
}

}  // namespace kiln::test
