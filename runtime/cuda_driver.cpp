// dlopen of libcuda.so.1 and the three calls that say whether it can be used. The driver
// API's functions return CUresult (an int, 0 for success); their declarations are copied
// by signature only, so no CUDA header is needed.
#include "runtime/cuda_driver.h"

#include <dlfcn.h>
#include <fmt/format.h>

namespace kiln::runtime::cuda {
namespace {

DriverStatus probe() {
  DriverStatus s;
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char *e = dlerror();
    s.why_not = fmt::format("no CUDA driver ({})", e != nullptr ? e : "libcuda.so.1 not found");
    return s;
  }
  using Init = int (*)(unsigned);
  using GetInt = int (*)(int *);
  using ErrorString = int (*)(int, const char **);
  auto init = reinterpret_cast<Init>(dlsym(lib, "cuInit"));
  auto version = reinterpret_cast<GetInt>(dlsym(lib, "cuDriverGetVersion"));
  auto count = reinterpret_cast<GetInt>(dlsym(lib, "cuDeviceGetCount"));
  auto error_string = reinterpret_cast<ErrorString>(dlsym(lib, "cuGetErrorString"));
  if (init == nullptr || version == nullptr || count == nullptr) {
    s.why_not = "the CUDA driver library lacks cuInit, cuDriverGetVersion or cuDeviceGetCount";
    return s;  // the library stays loaded: unloading a driver is not worth the risk
  }
  auto words = [&](int r) {
    const char *text = nullptr;
    if (error_string != nullptr) error_string(r, &text);
    return text != nullptr ? std::string(text) : fmt::format("CUresult {}", r);
  };
  if (version(&s.driver_version) != 0) s.driver_version = 0;
  if (const int r = init(0); r != 0) {
    s.why_not = fmt::format("the CUDA driver did not start (cuInit: {})", words(r));
    return s;
  }
  if (const int r = count(&s.devices); r != 0 || s.devices == 0) {
    s.devices = 0;
    s.why_not =
        r != 0 ? fmt::format("no CUDA device (cuDeviceGetCount: {})", words(r)) : "no CUDA device";
    return s;
  }
  s.available = true;
  return s;
}

}  // namespace

const DriverStatus &driver_status() {
  static const DriverStatus status = probe();
  return status;
}

}  // namespace kiln::runtime::cuda
