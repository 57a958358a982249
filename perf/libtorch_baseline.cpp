// W1-W6 written against libtorch, the best a libtorch user gets: no autograd, and the
// thread count passed to OpenBLAS too (torch 1.13 does not do that itself).
#include "libtorch_baseline.h"

#include <dlfcn.h>
#include <torch/torch.h>

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

TorchRunner libtorch_workload(const std::string &id, const std::vector<RawTensor> &inputs) {
  std::vector<torch::Tensor> in;
  for (const RawTensor &t : inputs) in.push_back(to_torch(t));
  namespace F = torch::nn::functional;
  std::function<torch::Tensor()> run;
  if (id == "W1") run = [in] { return torch::gelu(in[0] * in[1] + in[2]) * torch::sigmoid(in[0]) + torch::tanh(in[0]) * 0.5; };
  if (id == "W2") run = [in] { return torch::softmax(in[0], -1); };
  if (id == "W3") run = [in] { return torch::layer_norm(in[0] + in[1], {1024}, in[2], in[3]); };
  if (id == "W4" || id == "W5")
    run = [in, id] {
      auto h = F::linear(in[0], in[1], in[2]);
      h = id == "W4" ? torch::gelu(h) : torch::relu(h);
      return F::linear(h, in[3], in[4]);
    };
  if (id == "W6") run = [in] { return torch::matmul(torch::softmax(torch::matmul(in[0], in[1].transpose(1, 2)) / 8, -1), in[2]); };
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

}  // namespace kiln::perf
