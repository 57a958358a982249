// The libtorch side of kiln-bench, behind a plain interface: libtorch's headers need
// C++17 and stay in libtorch_baseline.cpp, which is built only when Debian's libtorch-dev
// is found (meson option -Dlibtorch=auto).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kiln::perf {

struct RawTensor {  // a float32 tensor's contiguous data and shape
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Whether this kiln-bench was built with libtorch.
[[nodiscard]] bool libtorch_available();
[[nodiscard]] std::string libtorch_version();

// Sets libtorch's (and OpenBLAS's, when that is the BLAS) thread count.
void libtorch_set_threads(int threads);

// libtorch's sgemm rate on 2048x2048 matrices at the current thread count, in GFLOP/s
// (the GEMM peak W4, W6 and W8 are measured against); 0 without libtorch.
[[nodiscard]] double libtorch_gemm_gflops(double budget_s);

struct TorchRunner {
  std::function<void()> run;          // computes the workload once (what is timed)
  std::function<RawTensor()> output;  // computes it and copies the result out (for checking)
};

// Workload `id` (W1..W6) on copies of `inputs`; empty functions when libtorch is absent.
[[nodiscard]] TorchRunner libtorch_workload(const std::string &id,
                                            const std::vector<RawTensor> &inputs);

// A training step of W7 (W5's model, relu) or W10 (W4's MLP, gelu): inputs are x, the
// target, then w1, b1, w2, b2 (the starting weights). Each run is one step of MSE, backward
// and Adam (lr 1e-3) on the same batch; output runs a step and returns its loss. Empty
// functions when libtorch is absent.
[[nodiscard]] TorchRunner libtorch_training(const std::string &id,
                                            const std::vector<RawTensor> &inputs);

}  // namespace kiln::perf
