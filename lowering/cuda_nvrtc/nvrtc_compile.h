// NVRTC: CUDA C → PTX and cubin for a named architecture, no GPU needed. Linked when the
// CUDA toolkit was found at configure time (meson -Dcuda=auto); without it every call
// throws kiln::Error saying so.
#pragma once

#include <string>
#include <string_view>

namespace kiln::lower::cuda {

// Whether this build has NVRTC, and its version ("NVRTC 13.0"), or why not.
[[nodiscard]] bool nvrtc_available();
[[nodiscard]] std::string nvrtc_version();

struct DeviceCode {
  std::string ptx;    // PTX for compute_XX (a later device's driver compiles it), or
  std::string cubin;  // machine code for exactly sm_XX
  std::string log;    // NVRTC's, warnings included
};

// Compiles `source` for `arch` ("sm_80", "sm_90"): a cubin when `cubin`, else PTX. Throws
// kiln::Error with NVRTC's log and the numbered source when it fails.
[[nodiscard]] DeviceCode compile_for_device(const std::string &source, std::string_view arch,
                                            bool cubin);

}  // namespace kiln::lower::cuda
