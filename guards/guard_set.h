// GuardSet: what a trace assumed about its arguments — each tensor's dtype, device, rank,
// sizes and layout (contiguous, or its exact strides), each scalar's value — flattened into
// one array so checking a call is a single linear comparison. The reason for a miss is
// rebuilt only after a miss, in the user's words.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/device.h"
#include "ir/dtype.h"

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
};

class GuardSet {
 public:
  // names[i] is argument i's name as the user knows it ("x", "arg1", "xs[0]").
  [[nodiscard]] static GuardSet capture(std::span<const ArgDesc> args,
                                        std::span<const std::string> names);

  // True when every guard holds. Allocation-free; this runs on every call.
  [[nodiscard]] bool check(std::span<const ArgDesc> args) const;

  struct Miss {
    int passed = 0;      // guards that held before the first failing one (closeness)
    std::string reason;  // e.g. "tensor 'x' (arg 0) size mismatch at dim 0: expected 3, got 4"
  };
  // The first failing guard; only called after check() returned false.
  [[nodiscard]] Miss explain_miss(std::span<const ArgDesc> args) const;

  // Every guard in words, one per line, for explain() and KILN_LOGS=guards.
  [[nodiscard]] std::vector<std::string> describe() const;
  [[nodiscard]] size_t num_args() const { return names_.size(); }

 private:
  std::vector<int64_t> flat_;  // per argument: kind, then its facts (see guard_set.cpp)
  std::vector<std::string> names_;
};

// "3", "0.5", "true": how a scalar argument's value is printed in guards and IR.
[[nodiscard]] std::string format_scalar(const ArgDesc &arg);

}  // namespace kiln::guards
