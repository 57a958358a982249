// Host compilation of generated CUDA C, and launching it like a CPU kernel.
#include "lowering/cuda_nvrtc/emulate.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ir/diag.h"
#include "runtime/cpu_code.h"

namespace kiln::lower::cuda {
namespace {

constexpr int kBlocks = 3, kThreads = 4;

constexpr std::string_view kHostPrelude = R"(// kiln CUDA emulation prelude (host C++)
#include <cmath>
#include <cstring>
struct kiln_dim3 { unsigned x, y, z; };
static thread_local kiln_dim3 threadIdx{0, 0, 0}, blockIdx{0, 0, 0}, blockDim{1, 1, 1},
    gridDim{1, 1, 1};
#define __global__
)";

class EmulatedCode : public runtime::CpuCode {
 public:
  EmulatedCode(void *handle, std::span<const std::string> symbols) : handle_(handle) {
    for (const std::string &s : symbols) {
      void *fn = dlsym(handle, fmt::format("kiln_emulate_{}", s).c_str());
      KILN_CHECK(fn != nullptr, "emulated kernel {} not found", s);
      entries_.push_back(fn);
    }
  }
  ~EmulatedCode() override { dlclose(handle_); }
  EmulatedCode(const EmulatedCode &) = delete;
  EmulatedCode &operator=(const EmulatedCode &) = delete;

 private:
  void *handle_;
};

}  // namespace

std::shared_ptr<const runtime::KernelCode> load_emulated(const std::string &source,
                                                         std::span<const std::string> symbols) {
  std::string text = std::string(kHostPrelude) + source;
  for (const std::string &s : symbols)
    text += fmt::format(
        "extern \"C\" void kiln_emulate_{0}(void *const *args, const long long *sizes, "
        "long long begin, long long end) {{\n"
        "  gridDim = {{{1}, 1, 1}};\n  blockDim = {{{2}, 1, 1}};\n"
        "  for (unsigned b = 0; b < {1}; ++b)\n    for (unsigned t = 0; t < {2}; ++t) {{\n"
        "      blockIdx = {{b, 0, 0}};\n      threadIdx = {{t, 0, 0}};\n"
        "      {0}(args, sizes, begin, end);\n    }}\n}}\n",
        s, kBlocks, kThreads);
  static std::atomic<int> counter{0};
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    fmt::format("kiln_cuda_emulation_{}_{}", getpid(), counter++);
  std::filesystem::create_directories(dir);
  const std::filesystem::path cpp = dir / "kernels.cpp", so = dir / "kernels.so",
                              log = dir / "compile.log";
  std::ofstream(cpp) << text;
  const char *cxx = std::getenv("CXX");
  const std::string command = fmt::format(
      "{} -std=c++17 -O1 -fPIC -shared -o '{}' '{}' > '{}' 2>&1",
      cxx != nullptr && *cxx != '\0' ? cxx : "c++", so.string(), cpp.string(), log.string());
  const int rc = std::system(command.c_str());
  if (rc != 0) {
    std::ifstream in(log);
    const std::string output((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    fail("CUDA emulation: the host compiler failed on the generated source ({}):\n{}", command,
         output);
  }
  void *handle = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // the mapping outlives the file
  if (handle == nullptr) fail("CUDA emulation: cannot load the compiled kernels: {}", dlerror());
  return std::make_shared<EmulatedCode>(handle, symbols);
}

}  // namespace kiln::lower::cuda
