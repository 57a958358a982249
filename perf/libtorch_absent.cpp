// kiln-bench without libtorch: the baseline column reads "n/a".
#include "libtorch_baseline.h"

namespace kiln::perf {

bool libtorch_available() { return false; }
std::string libtorch_version() { return ""; }
void libtorch_set_threads(int) {}
double libtorch_gemm_gflops(double) { return 0.0; }
TorchRunner libtorch_workload(const std::string &, const std::vector<RawTensor> &) { return {}; }
TorchRunner libtorch_training(const std::string &, const std::vector<RawTensor> &) { return {}; }

}  // namespace kiln::perf
