// The CUDA driver, loaded with dlopen at first use (libcuda.so.1), so kiln builds, links and
// runs on machines without one. This first part only probes it: whether a driver and a
// device are there, and why not in words.
#pragma once

#include <string>

namespace kiln::runtime::cuda {

struct DriverStatus {
  bool available = false;
  std::string why_not;     // "no CUDA driver: libcuda.so.1: cannot open shared object file…"
  int driver_version = 0;  // 12040 for 12.4
  int devices = 0;
};

// Probed once per process (thread-safe).
[[nodiscard]] const DriverStatus &driver_status();

}  // namespace kiln::runtime::cuda
