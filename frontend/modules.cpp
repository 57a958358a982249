// kiln::nn modules: parameter registration and walking, and the layers of kiln/nn.h.
#include <algorithm>
#include <cmath>

#include "ir/diag.h"
#include "kiln/autograd.h"
#include "kiln/nn.h"
#include "kiln/ops.h"
#include "tracer/trace.h"

namespace kiln::nn {
namespace {

// Uniform in [-bound, bound): PyTorch's default for Linear's weight and bias.
Tensor uniform(const Shape &shape, double bound) {
  NoGradGuard no_grad;
  return (rand(shape) * 2 - 1) * bound;
}

}  // namespace

Tensor Module::register_parameter(std::string name, Tensor value) {
  if (!value.defined()) fail("register_parameter: parameter '{}' is an undefined tensor", name);
  for (const auto &[existing, _] : params_)
    if (existing == name) fail("register_parameter: a parameter '{}' exists already", name);
  Tensor leaf = value.detach();
  leaf.requires_grad_();
  params_.emplace_back(std::move(name), leaf);
  return leaf;
}

void Module::add_child(std::string name, std::shared_ptr<Module> module) {
  if (!module) fail("register_module: submodule '{}' is null", name);
  children_.emplace_back(std::move(name), std::move(module));
}

void Module::collect(const std::string &prefix, NamedTensors &out) const {
  for (const auto &[name, t] : params_) out.emplace_back(prefix + name, t);
  for (const auto &[name, child] : children_) child->collect(prefix + name + ".", out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto &[_, t] : named_parameters()) out.push_back(t);
  return out;
}

void Module::zero_grad() const {
  for (const Tensor &p : parameters()) p.set_grad(Tensor());
}

bool Module::is_training() const {
  if (tracer::Trace *trace = tracer::active()) trace->read_flag(training_);
  return *training_;
}

void Module::train(bool on) {
  *training_ = on;
  for (auto &[_, child] : children_) child->train(on);
}

void Module::load_state_dict(const NamedTensors &state, bool strict) const {
  const NamedTensors own = named_parameters();
  for (const auto &[key, value] : state) {
    auto it = std::find_if(own.begin(), own.end(), [&](const auto &p) { return p.first == key; });
    if (it == own.end())
      fail("load_state_dict: unexpected key '{}': the module has no parameter of that name", key);
    if (value.sizes() != it->second.sizes())
      fail("load_state_dict: '{}' has shape {} in the state, but {} in the module", key,
           format_shape(value.sizes()), format_shape(it->second.sizes()));
  }
  if (strict)
    for (const auto &[key, _] : own)
      if (std::none_of(state.begin(), state.end(), [&](const auto &p) { return p.first == key; }))
        fail("load_state_dict: missing key '{}': the module has it, the state does not", key);
  NoGradGuard no_grad;
  for (const auto &[key, value] : state)
    for (const auto &[name, param] : own)
      if (name == key) param.copy_(value);
}

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias) {
  if (in_features <= 0 || out_features <= 0)
    fail("Linear: in_features and out_features must be positive, got {} and {}", in_features,
         out_features);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight = register_parameter("weight", uniform({out_features, in_features}, bound));
  if (with_bias) bias = register_parameter("bias", uniform({out_features}, bound));
}
Tensor Linear::forward(const Tensor &x) { return kiln::linear(x, weight, bias); }

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
  for (auto &m : modules) push_back(std::move(m));
}
void Sequential::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}
Tensor Sequential::forward(const Tensor &x) {
  Tensor y = x;
  for (const auto &m : modules_) y = m->forward(y);
  return y;
}

Tensor ReLU::forward(const Tensor &x) { return kiln::relu(x); }
Tensor GELU::forward(const Tensor &x) { return kiln::gelu(x, approximate_); }
Tensor SiLU::forward(const Tensor &x) { return kiln::silu(x); }
Tensor Tanh::forward(const Tensor &x) { return kiln::tanh(x); }
Tensor Sigmoid::forward(const Tensor &x) { return kiln::sigmoid(x); }

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine)
    : shape_(std::move(normalized_shape)), eps_(eps) {
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(shape_));
    bias = register_parameter("bias", zeros(shape_));
  }
}
Tensor LayerNorm::forward(const Tensor &x) {
  return kiln::layer_norm(x, shape_, weight, bias, eps_);
}

RMSNorm::RMSNorm(Shape normalized_shape, std::optional<double> eps, bool elementwise_affine)
    : shape_(std::move(normalized_shape)), eps_(eps) {
  if (elementwise_affine) weight = register_parameter("weight", ones(shape_));
}
Tensor RMSNorm::forward(const Tensor &x) { return kiln::rms_norm(x, shape_, weight, eps_); }

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim) {
  if (num_embeddings <= 0 || embedding_dim <= 0)
    fail("Embedding: num_embeddings and embedding_dim must be positive, got {} and {}",
         num_embeddings, embedding_dim);
  weight = register_parameter("weight", randn({num_embeddings, embedding_dim}));
}
Tensor Embedding::forward(const Tensor &indices) { return kiln::embedding(indices, weight); }

Dropout::Dropout(double p) : p_(p) {
  if (!(p >= 0.0 && p <= 1.0)) fail("Dropout: p must be in [0, 1], got {}", p);
}
Tensor Dropout::forward(const Tensor &x) { return kiln::dropout(x, p_, is_training()); }

std::shared_ptr<Linear> linear(int64_t in_features, int64_t out_features, bool bias) {
  return std::make_shared<Linear>(in_features, out_features, bias);
}
std::shared_ptr<ReLU> relu() { return std::make_shared<ReLU>(); }
std::shared_ptr<Tanh> tanh() { return std::make_shared<Tanh>(); }

}  // namespace kiln::nn
