// Target: what generated code is for. A plain value: the backend, and for the CPU the LLVM
// triple, CPU name and features and the vector width that follows. Every width-dependent
// choice (GEMM tiles, vector loops) reads it from here, never from the machine compiling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::lower {

enum class BackendKind : uint8_t { Cpu };
inline constexpr uint8_t kBackendKinds = 1;  // BackendKind's values are 0 .. kBackendKinds - 1

struct Target {
  BackendKind backend = BackendKind::Cpu;
  std::string triple;        // "x86_64-unknown-linux-gnu"
  std::string cpu;           // "znver3", "x86-64-v3"
  std::string features;      // "+avx,+avx2,-avx512f,…": every feature LLVM detects on hosts
  int64_t vector_bytes = 0;  // 64 with AVX-512F, 32 with AVX, else 16

  bool operator==(const Target &) const = default;
  // "cpu znver3 (x86_64-unknown-linux-gnu, 32-byte vectors)": for explain() and logs.
  [[nodiscard]] std::string str() const;
  // Every field, one per line ("features = ..."): for dumps and the content key.
  [[nodiscard]] std::string text() const;
};

[[nodiscard]] std::string_view backend_name(BackendKind kind);

// The host as the backend detects it. Throws kiln::Error when the backend is not built or
// the host has no usable target.
[[nodiscard]] Target host_target(BackendKind kind = BackendKind::Cpu);
// A named CPU ("x86-64-v3"; "" is the host) with features in the host's form. Throws
// kiln::Error for a CPU the backend does not know.
[[nodiscard]] Target named_target(std::string_view cpu, BackendKind kind = BackendKind::Cpu);
// Whether code for `t` runs here; "" when it does, else why not in words.
[[nodiscard]] std::string why_cannot_run(const Target &t);

// What compile() generates code for unless told otherwise: set_target's, else the host.
[[nodiscard]] Target current_target();
// From now on (process-wide) generate code for `cpu`, e.g. "x86-64-v3"; "" names the host
// again. Returns the target now in force. Throws kiln::Error for a CPU the backend does not
// know or whose code this host cannot run; the target in force is then unchanged.
Target set_target(std::string_view cpu);

// The AVX2 level every AVX2 host runs (AVX2, FMA, BMI2): the lesser target of the tests.
inline constexpr std::string_view kAvx2Cpu = "x86-64-v3";

}  // namespace kiln::lower
