// The workloads written against libtorch, the best a libtorch user gets: no autograd, and the
// thread count passed to OpenBLAS too (torch 1.13 does not do that itself).
#include "libtorch_baseline.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

namespace kiln::perf {
namespace {

torch::Tensor to_torch(const RawTensor &t) {
  return torch::from_blob(const_cast<float *>(t.data.data()), t.shape, torch::kFloat32).clone();
}

RawTensor from_torch(const torch::Tensor &t) {
  torch::Tensor c = t.contiguous();
  RawTensor r;
  r.shape.assign(c.sizes().begin(), c.sizes().end());
  r.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return r;
}

}  // namespace

bool libtorch_available() { return true; }

std::string libtorch_version() { return TORCH_VERSION; }

void libtorch_set_threads(int threads) {
  torch::set_num_threads(threads);
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(threads);
}

double libtorch_gemm_gflops(double budget_s) {
  torch::NoGradGuard no_grad;
  const int64_t n = 2048;
  torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  (void)torch::mm(a, b);
  int runs = 0;
  const auto start = std::chrono::steady_clock::now();
  double best = 1e30;
  while (runs < 3 ||
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
             budget_s) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)torch::mm(a, b);
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    ++runs;
  }
  return 2.0 * n * n * n / best / 1e9;
}

TorchRunner libtorch_workload(const std::string &id, const std::vector<RawTensor> &inputs) {
  std::vector<torch::Tensor> in;
  for (const RawTensor &t : inputs) in.push_back(to_torch(t));
  namespace F = torch::nn::functional;
  std::function<torch::Tensor()> run;
  if (id == "W1")
    run = [in] {
      return torch::gelu(in[0] * in[1] + in[2]) * torch::sigmoid(in[0]) + torch::tanh(in[0]) * 0.5;
    };
  if (id == "W2") run = [in] { return torch::softmax(in[0], -1); };
  if (id == "W3") run = [in] { return torch::layer_norm(in[0] + in[1], {1024}, in[2], in[3]); };
  if (id == "W4" || id == "W5")
    run = [in, id] {
      auto h = F::linear(in[0], in[1], in[2]);
      h = id == "W4" ? torch::gelu(h) : torch::relu(h);
      return F::linear(h, in[3], in[4]);
    };
  if (id == "W6")
    run = [in] {
      return torch::matmul(torch::softmax(torch::matmul(in[0], in[1].transpose(1, 2)) / 8, -1),
                           in[2]);
    };
  if (id == "W8")
    run = [in] {
      auto heads = [](const torch::Tensor &t) {
        return t.reshape({8, 128, 8, 32}).permute({0, 2, 1, 3});
      };
      auto z = torch::layer_norm(in[0], {256}, in[9], in[10]);
      auto q = heads(F::linear(z, in[1], in[2])), k = heads(F::linear(z, in[3], in[4]));
      auto v = heads(F::linear(z, in[5], in[6]));
      auto p = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(32.0), -1);
      auto o = torch::matmul(p, v).permute({0, 2, 1, 3}).reshape({8, 128, 256});
      auto h = in[0] + F::linear(o, in[7], in[8]);
      return h + F::linear(torch::gelu(F::linear(torch::layer_norm(h, {256}, in[11], in[12]),
                                                 in[13], in[14])),
                           in[15], in[16]);
    };
  if (id.rfind("W9-", 0) == 0) {
    const int n = std::stoi(id.substr(3));
    run = [in, n] {
      torch::Tensor x = in[0];
      for (int i = 0; i < n; ++i) {
        switch (i % 4) {
          case 0: x = x + 0.5; break;
          case 1: x = x * 0.9; break;
          case 2: x = torch::tanh(x); break;
          default: x = torch::sigmoid(x); break;
        }
      }
      return x;
    };
  }
  if (!run) return {};
  return {[run] {
            torch::NoGradGuard no_grad;
            (void)run();
          },
          [run] {
            torch::NoGradGuard no_grad;
            return from_torch(run());
          }};
}

TorchRunner libtorch_training(const std::string &id, const std::vector<RawTensor> &inputs) {
  if (id != "W7" && id != "W10") return {};
  struct State {
    torch::Tensor x, target;
    std::vector<torch::Tensor> params;
    std::unique_ptr<torch::optim::Adam> adam;
    bool gelu = false;
  };
  auto state = std::make_shared<State>();
  state->x = to_torch(inputs[0]);
  state->target = to_torch(inputs[1]);
  for (size_t i = 2; i < 6; ++i) state->params.push_back(to_torch(inputs[i]).requires_grad_());
  state->adam =
      std::make_unique<torch::optim::Adam>(state->params, torch::optim::AdamOptions(1e-3));
  state->gelu = id == "W10";
  auto step = [state] {
    namespace F = torch::nn::functional;
    state->adam->zero_grad();
    auto h = F::linear(state->x, state->params[0], state->params[1]);
    h = state->gelu ? torch::gelu(h) : torch::relu(h);
    auto loss = F::mse_loss(F::linear(h, state->params[2], state->params[3]), state->target);
    loss.backward();
    state->adam->step();
    return loss.detach();
  };
  return {[step] { (void)step(); }, [step] { return from_torch(step()); }};
}

}  // namespace kiln::perf
