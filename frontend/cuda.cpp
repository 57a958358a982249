// kiln::cuda: what the runtime's driver probe found.
#include "kiln/kiln.h"
#include "runtime/cuda_driver.h"

namespace kiln::cuda {

bool is_available() { return runtime::cuda::driver_status().available; }
std::string why_unavailable() { return runtime::cuda::driver_status().why_not; }
int device_count() { return runtime::cuda::driver_status().devices; }

}  // namespace kiln::cuda
