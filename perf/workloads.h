// The benchmark workloads of ../shared/WORKLOADS.md (W1-W6, W8, W9 with N = 10, 100, 1000),
// defined once: inputs from manual_seed(0) + randn (weights scaled by 1/sqrt(fan_in)), the
// eager function, and the least work a perfect implementation must do (bytes or FLOPs).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kiln/kiln.h"

namespace kiln::perf {

struct Workload {
  std::string id;           // "W1"
  std::string description;  // the formula and shapes
  double bytes = 0;         // least bytes moved (memory-bound workloads), else 0
  double flops = 0;         // least FLOPs (compute-bound workloads), else 0
  std::function<std::vector<Tensor>()> make_inputs;
  std::function<Tensor(const std::vector<Tensor> &)> run;
  // The inputs at other sizes (the same weights), for workloads whose sizes may vary: a
  // compile() called at these and then at the workload's own sizes runs a symbolic entry
  // (kiln-bench --dynamic). Unset for the rest.
  std::function<std::vector<Tensor>(const std::vector<Tensor> &)> other_sizes;
};

[[nodiscard]] std::vector<Workload> eager_workloads();

// W8 and W9 as functions, shared with the libtorch baseline's definitions by shape only.
[[nodiscard]] Tensor transformer_block(const std::vector<Tensor> &inputs);
[[nodiscard]] Tensor pointwise_chain(Tensor x, int n);

}  // namespace kiln::perf
