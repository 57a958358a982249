// kiln::nn: modules with named parameters, as torch.nn. A module owns its parameters
// (leaf tensors that require grad) and its submodules; parameters() walks both in the
// order they were registered, and the names ("0.weight", "encoder.norm.bias") are the
// keys of state_dict() and of the files save() writes.
//
//   nn::Sequential model({nn::linear(5, 10), nn::relu(), nn::linear(10, 1)});
//   Tensor loss = mse_loss(model(x), y);
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/tensor.h"

namespace kiln::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;

  [[nodiscard]] virtual Tensor forward(const Tensor &x) = 0;
  Tensor operator()(const Tensor &x) { return forward(x); }

  [[nodiscard]] std::vector<Tensor> parameters() const;
  [[nodiscard]] NamedTensors named_parameters() const;
  // Clears every parameter's gradient (to undefined, as PyTorch's set_to_none).
  void zero_grad() const;
  // Training mode (the default) changes what Dropout does; it applies to submodules too.
  void train(bool on = true);
  void eval() { train(false); }
  // Read by a function compile() traces, the mode becomes part of that entry's guards.
  [[nodiscard]] bool is_training() const;

  // The parameters by name, sharing their memory.
  [[nodiscard]] NamedTensors state_dict() const { return named_parameters(); }
  // Copies values into the parameters by name. Every key must name a parameter of the
  // same shape; with strict, every parameter must be given too.
  void load_state_dict(const NamedTensors &state, bool strict = true) const;

 protected:
  // A parameter: the tensor is made a leaf that requires grad.
  Tensor register_parameter(std::string name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }

 private:
  void add_child(std::string name, std::shared_ptr<Module> module);
  void collect(const std::string &prefix, NamedTensors &out) const;
  NamedTensors params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::shared_ptr<bool> training_ = std::make_shared<bool>(true);
};

// y = x Wᵀ + b, W [out, in]; W and b start uniform in ±1/sqrt(in), as PyTorch's.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor &x) override;
  Tensor weight, bias;  // bias undefined without one
};

// Applies its modules in order; they are named "0", "1", ….
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  void push_back(std::shared_ptr<Module> module);
  Tensor forward(const Tensor &x) override;
  [[nodiscard]] size_t size() const { return modules_.size(); }
  [[nodiscard]] Module &operator[](size_t i) const { return *modules_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor &x) override;
};
class GELU : public Module {
 public:
  explicit GELU(std::string approximate = "none") : approximate_(std::move(approximate)) {}
  Tensor forward(const Tensor &x) override;

 private:
  std::string approximate_;
};
class SiLU : public Module {
 public:
  Tensor forward(const Tensor &x) override;
};
class Tanh : public Module {
 public:
  Tensor forward(const Tensor &x) override;
};
class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor &x) override;
};

// Weight ones and bias zeros over the trailing normalized_shape dims.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor &x) override;
  Tensor weight, bias;

 private:
  Shape shape_;
  double eps_;
};

class RMSNorm : public Module {
 public:
  explicit RMSNorm(Shape normalized_shape, std::optional<double> eps = {},
                   bool elementwise_affine = true);
  Tensor forward(const Tensor &x) override;
  Tensor weight;

 private:
  Shape shape_;
  std::optional<double> eps_;
};

// Rows of weight [num_embeddings, dim], which starts standard normal; input: indices.
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim);
  Tensor forward(const Tensor &indices) override;
  Tensor weight;
};

// Zeroes elements with probability p while training; the identity in eval().
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor &x) override;

 private:
  double p_;
};

// Shorthands for Sequential's lists: nn::linear(5, 10) is make_shared<Linear>(5, 10).
[[nodiscard]] std::shared_ptr<Linear> linear(int64_t in_features, int64_t out_features,
                                             bool bias = true);
[[nodiscard]] std::shared_ptr<ReLU> relu();
[[nodiscard]] std::shared_ptr<Tanh> tanh();

// Tensors to and from a file in the safetensors format (a little-endian u64 header length,
// a JSON header of {name: {dtype, shape, data_offsets}}, then the raw bytes), which
// PyTorch, JAX and Hugging Face tools read as well.
void save_tensors(const NamedTensors &tensors, const std::filesystem::path &path);
[[nodiscard]] NamedTensors load_tensors(const std::filesystem::path &path);
// A module's state_dict to a file, and back into a module of the same structure.
void save(const Module &module, const std::filesystem::path &path);
void load(const Module &module, const std::filesystem::path &path, bool strict = true);

}  // namespace kiln::nn
