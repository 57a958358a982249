// Artifact: a compiled graph as plain data, with no pointers: the plan of steps and buffers,
// each kernel's kernel IR (as text) and symbol, the backend's object code, the Target and
// Choices it was made for, and its content key. It serializes to bytes and back (versioned,
// checksummed), and loading it (lowering/compile_graph.h) is the only way a Program gets code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lowering/choices.h"
#include "lowering/target.h"
#include "runtime/program.h"

namespace kiln::lower {

struct ArtifactKernel {
  std::string symbol;     // in the object: "kiln_" + a hash of the kernel's content
  bool gemm = false;      // a GEMM micro-kernel (runtime::GemmMicroFn), else a KernelFn
  ir::GemmTile tile;      // a GEMM's register tile and blocking, as compiled
  std::string kernel_ir;  // print_kernel_normalized of the kernel
};

struct Artifact {
  // Bumped whenever the byte layout or the meaning of a field changes.
  static constexpr uint32_t kFormatVersion = 3;

  std::string name;  // the graph's name, for messages; not part of the key
  Target target;
  Choices choices;
  runtime::Plan plan;                   // KernelStep::code_index indexes `kernels`
  std::vector<ArtifactKernel> kernels;  // distinct kernels, each compiled once
  std::string object;                   // the backend's code (CPU: a relocatable ELF object)
  std::string fused;                    // print_fused of the graph, for explain() and dumps
  std::string versions;                 // "kiln 0.1.0 (sources 4283c46efc2664d5), LLVM 19.1.7"
  std::string key;                      // content_key: 32 hex digits

  [[nodiscard]] bool has_code() const { return !object.empty() || kernels.empty(); }
};

// XXH3-128 of what decides the code: the plan's steps and buffer types with names left out,
// each kernel's IR text with names normalized, the Target, the Choices and `versions`.
// Renaming the function or its values does not change it; any of the others does.
[[nodiscard]] std::string content_key(const Artifact &a);

// The versioned byte form: magic, format version, payload size, payload, XXH3-64 checksum.
[[nodiscard]] std::string serialize(const Artifact &a);
// Throws kiln::Error (never crashes, never returns a partial artifact) for bytes that are
// not an artifact: a wrong magic or format version, truncation, a checksum mismatch, a
// stored key that is not the content's, or a plan whose indices are out of range.
[[nodiscard]] Artifact deserialize(std::string_view bytes);

// The artifact in words, for tools (kiln-opt --load, kiln-cache show): name, key, versions,
// target, choices, steps, the fused graph and each distinct kernel's IR with the steps that
// run it.
[[nodiscard]] std::string describe(const Artifact &a);

}  // namespace kiln::lower
