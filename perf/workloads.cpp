// W1-W6, W8 and W9 as eager kiln code (the training steps W7 and W10 are in
// training_workloads.cpp).
#include "workloads.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln::perf {
namespace {

Tensor weight(int64_t out, int64_t in) {
  return randn({out, in}) / std::sqrt(static_cast<double>(in));
}
Tensor bias(int64_t out, int64_t in) { return randn({out}) / std::sqrt(static_cast<double>(in)); }

constexpr double kFloat = 4.0;

}  // namespace

std::vector<Workload> eager_workloads() {
  std::vector<Workload> w;
  const int64_t n1 = 16777216;
  w.push_back({"W1", "gelu(x*a+b)*sigmoid(x)+tanh(x)*0.5, x,a,b [16M]", 4.0 * n1 * kFloat, 0,
               [=] { return std::vector<Tensor>{randn({n1}), randn({n1}), randn({n1})}; },
               [](const std::vector<Tensor> &in) {
                 const Tensor &x = in[0], &a = in[1], &b = in[2];
                 return gelu(x * a + b) * sigmoid(x) + tanh(x) * 0.5;
               }});
  w.push_back(
      {"W2", "softmax(x, -1), x [4096,1024]", 2.0 * 4096 * 1024 * kFloat, 0,
       [] { return std::vector<Tensor>{randn({4096, 1024})}; },
       [](const std::vector<Tensor> &in) { return softmax(in[0], -1); },
       [](const std::vector<Tensor> &) { return std::vector<Tensor>{randn({2000, 700})}; }});
  w.push_back({"W3", "layer_norm(x + r, [1024], w, b), x,r [8192,1024]", 3.0 * 8192 * 1024 * kFloat,
               0,
               [] {
                 return std::vector<Tensor>{randn({8192, 1024}), randn({8192, 1024}), randn({1024}),
                                            randn({1024})};
               },
               [](const std::vector<Tensor> &in) {
                 return layer_norm(in[0] + in[1], {1024}, in[2], in[3]);
               },
               [](const std::vector<Tensor> &in) {
                 return std::vector<Tensor>{randn({3000, 1024}), randn({3000, 1024}), in[2], in[3]};
               }});
  w.push_back({"W4", "linear(gelu(linear(x,w1,b1)),w2,b2), x [512,1024], hidden 4096", 0,
               2.0 * 2 * 512 * 1024 * 4096,
               [] {
                 return std::vector<Tensor>{randn({512, 1024}), weight(4096, 1024),
                                            bias(4096, 1024), weight(1024, 4096), bias(1024, 4096)};
               },
               [](const std::vector<Tensor> &in) {
                 return linear(gelu(linear(in[0], in[1], in[2])), in[3], in[4]);
               }});
  w.push_back({"W5", "tiny model linear(relu(linear(x,w1,b1)),w2,b2), x [64,5]", 0,
               2.0 * 64 * (5 * 10 + 10 * 1),
               [] {
                 return std::vector<Tensor>{randn({64, 5}), weight(10, 5), bias(10, 5),
                                            weight(1, 10), bias(1, 10)};
               },
               [](const std::vector<Tensor> &in) {
                 return linear(relu(linear(in[0], in[1], in[2])), in[3], in[4]);
               }});
  w.push_back({"W6", "softmax(q@kT/8, -1)@v, q,k,v [8,256,64]", 0, 2.0 * 2 * 8 * 256 * 256 * 64,
               [] {
                 return std::vector<Tensor>{randn({8, 256, 64}), randn({8, 256, 64}),
                                            randn({8, 256, 64})};
               },
               [](const std::vector<Tensor> &in) {
                 return matmul(softmax(matmul(in[0], in[1].transpose(1, 2)) / 8.0, -1), in[2]);
               }});
  w.push_back({"W8", "transformer block, 8 heads, mlp 4x with gelu, x [8,128,256]", 0, 1.6e9,
               [] {
                 std::vector<Tensor> in = {randn({8, 128, 256})};
                 for (int i = 0; i < 4; ++i) {  // q, k, v, o projections
                   in.push_back(weight(256, 256));
                   in.push_back(bias(256, 256));
                 }
                 for (int i = 0; i < 2; ++i) {  // the two layer_norms
                   in.push_back(ones({256}));
                   in.push_back(zeros({256}));
                 }
                 in.push_back(weight(1024, 256));
                 in.push_back(bias(1024, 256));
                 in.push_back(weight(256, 1024));
                 in.push_back(bias(256, 1024));
                 return in;
               },
               transformer_block,
               [](std::vector<Tensor> in) {
                 in[0] = randn({4, 100, 256});
                 return in;
               }});
  for (int n : {10, 100, 1000})
    w.push_back({fmt::format("W9-{}", n), fmt::format("chain of {} pointwise ops, x [1M]", n),
                 2.0 * (1 << 20) * kFloat, 0, [] { return std::vector<Tensor>{randn({1 << 20})}; },
                 [n](const std::vector<Tensor> &in) { return pointwise_chain(in[0], n); }});
  return w;
}

Tensor transformer_block(const std::vector<Tensor> &in) {
  const Tensor &x = in[0];
  const int64_t batch = x.sizes()[0], seq = x.sizes()[1];
  auto heads = [&](const Tensor &t) {
    return t.reshape({batch, seq, 8, 32}).permute({0, 2, 1, 3});
  };
  Tensor z = layer_norm(x, {256}, in[9], in[10]);
  Tensor q = heads(linear(z, in[1], in[2])), k = heads(linear(z, in[3], in[4]));
  Tensor v = heads(linear(z, in[5], in[6]));
  Tensor p = softmax(matmul(q, k.transpose(-2, -1)) / std::sqrt(32.0), -1);
  Tensor o = matmul(p, v).permute({0, 2, 1, 3}).reshape({batch, seq, 256});
  Tensor h = x + linear(o, in[7], in[8]);
  Tensor m =
      linear(gelu(linear(layer_norm(h, {256}, in[11], in[12]), in[13], in[14])), in[15], in[16]);
  return h + m;
}

Tensor pointwise_chain(Tensor x, int n) {
  for (int i = 0; i < n; ++i) {
    switch (i % 4) {
      case 0: x = x + 0.5; break;
      case 1: x = x * 0.9; break;
      case 2: x = tanh(x); break;
      default: x = sigmoid(x); break;
    }
  }
  return x;
}

}  // namespace kiln::perf
