// GuardSet: what a trace assumed about its arguments — each tensor's dtype, requires_grad, device,
// rank, sizes and layout (contiguous, or its exact strides), each scalar's value (or, for a double
// the graph reads at each call, its kind) — flattened into one array so checking a call is a single
// linear comparison. A dynamic entry's symbolic dims accept any size >= 2, equal wherever one
// symbol appears. The reason for a miss is rebuilt only after a miss, in the user's words.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ir/device.h"
#include "ir/dtype.h"
#include "ir/substitute_sizes.h"

namespace kiln::guards {

// One argument of a call as the guards see it; tensors point at their sizes and strides.
struct ArgDesc {
  enum class Kind : uint8_t { Tensor, Int, Double, Bool };
  Kind kind = Kind::Tensor;
  DType dtype = DType::F32;
  Device device;
  std::span<const int64_t> sizes;
  std::span<const int64_t> strides;
  int64_t int_value = 0;
  double double_value = 0.0;
  bool requires_grad = false;  // tensors: a trace records gradient nodes only for these
};

// Dim `dim` of the tensor in argument row `row` is symbol s<symbol> (dynamic shapes).
struct SymbolicDim {
  int32_t row = 0, dim = 0, symbol = 0;
};

// Most symbols one entry may have (the call path binds them in a fixed array).
inline constexpr int kMaxSymbols = ir::kMaxSymbols;

class GuardSet {
 public:
  // names[i] is argument i's name as the user knows it ("x", "arg1", "xs[0]"), and
  // params[i] the function parameter it comes from (messages say "(arg 1)"; default i:
  // a list's elements are rows of their own but share their parameter). A tensor with a
  // symbolic dim must be contiguous (its strides then follow from its sizes).
  // `runtime_rows`: double or int arguments the graph reads at each call (runtime inputs):
  // their kind is guarded, not their value.
  [[nodiscard]] static GuardSet capture(std::span<const ArgDesc> args,
                                        std::span<const std::string> names,
                                        std::span<const SymbolicDim> symbols = {},
                                        std::span<const int32_t> params = {},
                                        std::span<const int32_t> runtime_rows = {});

  // True when every guard holds. Allocation-free; this runs on every call. The second form
  // also returns each symbol's size in `bindings` (at least num_symbols() long).
  [[nodiscard]] bool check(std::span<const ArgDesc> args) const;
  [[nodiscard]] bool check(std::span<const ArgDesc> args, std::span<int64_t> bindings) const;
  [[nodiscard]] int num_symbols() const { return num_symbols_; }

  // (row, dim) of every tensor dim that is symbolic here or whose size differs in `args`,
  // when `args` have the same kinds and ranks; empty otherwise. Dynamic shapes (auto)
  // make these symbols at the next compile.
  [[nodiscard]] std::vector<std::pair<int32_t, int32_t>> changed_dims(
      std::span<const ArgDesc> args) const;

  struct Miss {
    int passed = 0;  // guards that held before the first failing one (closeness)
    // Empty when every guard held; else e.g.
    // "tensor 'x' (arg 0) size mismatch at dim 0: expected 3, got 4"
    std::string reason;
  };
  // The first failing guard; only called after check() returned false.
  [[nodiscard]] Miss explain_miss(std::span<const ArgDesc> args) const;

  // Every guard in words, one per line, for explain() and KILN_LOGS=guards.
  [[nodiscard]] std::vector<std::string> describe() const;
  [[nodiscard]] size_t num_args() const { return names_.size(); }

 private:
  std::vector<int64_t> flat_;  // per argument: kind, then its facts (see guard_set.cpp)
  std::vector<std::string> names_;
  std::vector<int32_t> params_;  // per argument row: the function parameter it belongs to
  int num_symbols_ = 0;
};

// "3", "0.5", "true": how a scalar argument's value is printed in guards and IR.
[[nodiscard]] std::string format_scalar(const ArgDesc &arg);

}  // namespace kiln::guards
