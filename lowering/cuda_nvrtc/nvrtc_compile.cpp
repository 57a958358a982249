// NVRTC calls, or their absence.
#include "lowering/cuda_nvrtc/nvrtc_compile.h"

#include <fmt/format.h>

#include "ir/diag.h"

#ifdef KILN_HAS_NVRTC
#include <nvrtc.h>
#endif

namespace kiln::lower::cuda {

#ifdef KILN_HAS_NVRTC

namespace {

std::string numbered(const std::string &source) {
  std::string out;
  int line = 1;
  size_t at = 0;
  while (at < source.size()) {
    const size_t nl = source.find('\n', at);
    const size_t end = nl == std::string::npos ? source.size() : nl;
    out += fmt::format("{:4} | {}\n", line++, std::string_view(source).substr(at, end - at));
    at = end + 1;
  }
  return out;
}

}  // namespace

bool nvrtc_available() { return true; }

std::string nvrtc_version() {
  int major = 0, minor = 0;
  nvrtcVersion(&major, &minor);
  return fmt::format("NVRTC {}.{}", major, minor);
}

DeviceCode compile_for_device(const std::string &source, std::string_view arch, bool cubin) {
  nvrtcProgram prog = nullptr;
  if (nvrtcCreateProgram(&prog, source.c_str(), "kiln.cu", 0, nullptr, nullptr) != NVRTC_SUCCESS)
    fail("NVRTC: cannot create a program");
  // PTX for compute_XX (any later device can JIT it), or a cubin for exactly sm_XX.
  const std::string gpu = fmt::format("--gpu-architecture={}{}", cubin ? "sm_" : "compute_",
                                      arch.substr(arch.find('_') + 1));
  const char *options[] = {gpu.c_str(), "--std=c++17", "--fmad=true"};
  const nvrtcResult r = nvrtcCompileProgram(prog, 3, options);
  DeviceCode out;
  size_t size = 0;
  nvrtcGetProgramLogSize(prog, &size);
  out.log.resize(size);
  if (size > 0) nvrtcGetProgramLog(prog, out.log.data());
  while (!out.log.empty() && (out.log.back() == '\0' || out.log.back() == '\n')) out.log.pop_back();
  if (r != NVRTC_SUCCESS) {
    nvrtcDestroyProgram(&prog);
    fail("NVRTC could not compile the kernels for {}: {}\n{}\nsource:\n{}", arch,
         nvrtcGetErrorString(r), out.log, numbered(source));
  }
  if (cubin) {
    nvrtcGetCUBINSize(prog, &size);
    out.cubin.resize(size);
    nvrtcGetCUBIN(prog, out.cubin.data());
  } else {
    nvrtcGetPTXSize(prog, &size);
    out.ptx.resize(size);
    nvrtcGetPTX(prog, out.ptx.data());
    while (!out.ptx.empty() && out.ptx.back() == '\0') out.ptx.pop_back();
  }
  nvrtcDestroyProgram(&prog);
  return out;
}

#else

bool nvrtc_available() { return false; }

std::string nvrtc_version() { return "built without the CUDA toolkit (-Dcuda)"; }

DeviceCode compile_for_device(const std::string &, std::string_view arch, bool) {
  fail("cannot compile CUDA C for {}: kiln was built without the CUDA toolkit (NVRTC)", arch);
}

#endif

}  // namespace kiln::lower::cuda
