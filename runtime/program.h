// Program: a compiled graph as the runtime runs it. A list of steps over value slots: a
// generated kernel (a function pointer from a backend, split over the thread pool) or one op
// the runtime runs itself (matmul, views, composites). Intermediate kernel results live in
// one arena laid out by the memory plan; results returned to the caller get fresh storage.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "ir/tensor_type.h"
#include "runtime/array.h"
#include "runtime/gemm.h"

namespace kiln::runtime {

// A generated kernel: runs iterations [begin, end) of its outermost loop over `args`, the
// data pointers of its input then output buffers (all contiguous).
using KernelFn = void (*)(void *const *args, int64_t begin, int64_t end);

// A generated kernel, or a generated GEMM whose micro-kernel runs the kernel's loops as its
// epilogue (`gemm` set, `fn` null): the same args, plus the two operands as strided arrays.
// A GEMM splits its own work between threads: `grain` and `split` do not apply, and
// `extent` (C's rows) only serves dynamic shapes' resizing.
struct KernelStep {
  std::string name;
  KernelFn fn = nullptr;
  std::optional<GemmCall> gemm;
  int64_t extent = 1;   // iterations of the outermost loop
  int32_t symbol = -1;  // in a dynamic program: extent is a multiple of symbol s<symbol>
  int64_t grain = 1;    // fewest iterations worth a thread
  int64_t split = 1;    // each thread's range starts at a multiple of this (lower::Loop::split)
  std::vector<int32_t> args;  // slots: inputs then outputs
  size_t num_inputs = 0;
};

struct OpStep {
  OpKind op;
  Attrs attrs;
  TensorType result;
  std::vector<int32_t> operands;
  int32_t out;
};

using Step = std::variant<KernelStep, OpStep>;

struct Slot {
  TensorType type;
  enum class Place : uint8_t { Input, Arena, Fresh, ByOp } place = Place::ByOp;
  int64_t arena_offset = 0;  // bytes, Arena only
};

class Program {
 public:
  std::vector<Slot> slots;
  std::vector<int32_t> inputs, outputs;
  std::vector<Step> steps;
  std::vector<std::vector<int32_t>> release_after;  // per step: slots no longer read
  int64_t arena_bytes = 0;
  int64_t unshared_bytes = 0;        // the arena's buffers without reuse, for reports
  size_t max_step_args = 0;          // the most buffers one step takes (run() reserves that)
  std::shared_ptr<const void> code;  // keeps the backend's generated code alive

  // Lays out Arena slots and computes release_after; call once after steps are final.
  void plan();
  // Bytes a call holds at most: the arena, fresh results, what op steps allocate and the
  // largest GEMM's scratch.
  [[nodiscard]] int64_t peak_bytes() const;
  // inputs[i] binds slot inputs[i]; types are the caller's guarantee (the guards). Taken
  // by pointer: the call path copies no layouts.
  [[nodiscard]] std::vector<Array> run(std::span<const Array *const> inputs) const;
};

}  // namespace kiln::runtime
