// Program: a compiled graph as the runtime runs it. Its Plan is plain data (what an Artifact
// stores): a list of steps over value slots, each a generated kernel (by number) or one op
// the runtime runs itself (matmul, views, composites). Its KernelCode is what a backend
// loaded: it launches kernel number k. Intermediate kernel results live in one arena laid
// out by the memory plan; results returned to the caller get fresh storage.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "ir/sym_expr.h"
#include "ir/tensor_type.h"
#include "runtime/array.h"
#include "runtime/gemm.h"
#include "runtime/profile.h"

namespace kiln::runtime {

// A generated kernel, or a generated GEMM whose micro-kernel runs the kernel's loops as its
// epilogue (`gemm` set): the same args, plus the two operands as strided arrays. A GEMM
// splits its own work between threads: `grain` and `split` do not apply.
// In a dynamic program the kernel's numbers may be polynomials in the symbols (lower::Kernel):
// `extent_expr` and `elements` say how the outer extent and the work follow the sizes.
struct KernelStep {
  std::string name;
  int32_t code_index = -1;  // which of the code's kernels runs (steps may share one)
  std::optional<GemmCall> gemm;
  int64_t extent = 1;           // iterations of the outermost loop
  ir::SymExpr extent_expr = 1;  // the same over the symbols
  ir::SymExpr elements = 1;     // elements the kernel computes, over the symbols
  bool symbolic = false;        // its code reads the symbols' sizes
  int64_t task_elements = 1;    // fewest elements worth a thread
  int64_t grain = 1;            // fewest iterations worth a thread
  int64_t split = 1;  // each thread's range starts at a multiple of this (lower::Loop::split)
  std::vector<int32_t> args;  // slots: inputs then outputs
  size_t num_inputs = 0;

  // The grain when the kernel computes `total` elements in `extent` iterations.
  [[nodiscard]] int64_t grain_at(int64_t total) const {
    const int64_t per_iteration = std::max<int64_t>(1, total / std::max<int64_t>(1, extent));
    return std::max<int64_t>(1, task_elements / per_iteration);
  }
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

// The steps and buffers of a Program, without code.
struct Plan {
  std::vector<Slot> slots;
  std::vector<int32_t> inputs, outputs;
  std::vector<Step> steps;
  std::vector<std::vector<int32_t>> release_after;  // per step: slots no longer read
  int64_t arena_bytes = 0;
  int64_t unshared_bytes = 0;  // the arena's buffers without reuse, for reports
  size_t max_step_args = 0;    // the most buffers one step takes (run() reserves that)
  // A dynamic program's sizes of s0, s1, … (runtime/resize_program.h), which its kernels
  // read; empty in a static one and at witness sizes.
  std::vector<int64_t> sizes;

  // Lays out Arena slots and computes release_after; call once after steps are final.
  void lay_out();
  // Bytes a call holds at most: the arena, fresh results, what op steps allocate and the
  // largest GEMM's scratch.
  [[nodiscard]] int64_t peak_bytes() const;
  // How many kernels the steps name (1 + the highest KernelStep::code_index).
  [[nodiscard]] int32_t num_kernels() const;
};

// The kernels a backend loaded, by number. Launching runs one kernel step on its buffers:
// `args` are the data pointers of its inputs then outputs (contiguous); a GEMM step also
// gets its operands `a` and `b` (else null); `sizes` are the symbols' (Plan::sizes). The
// code lives as long as this object.
class KernelCode {
 public:
  virtual ~KernelCode() = default;
  virtual void launch(const KernelStep &step, const int64_t *sizes, void *const *args,
                      const View *a, const View *b) const = 0;
};

// Where a call's random ops read the Philox stream: the generator's seed, and the counter
// offset its draw for this call starts at. A random op step's own "offset" attr is then
// relative to the call's start (the frontend makes it so when it traces).
struct RandomDraw {
  uint64_t seed = 0, offset = 0;
};

class Program {
 public:
  // `name` (the compiled function's) labels its steps in the profile (runtime/profile.h).
  Program(Plan plan, std::shared_ptr<const KernelCode> code, std::string name = "");

  [[nodiscard]] const Plan &plan() const { return plan_; }
  [[nodiscard]] const std::string &name() const { return name_; }
  [[nodiscard]] const std::shared_ptr<const KernelCode> &code() const { return code_; }
  // inputs[i] binds slot inputs[i]; types are the caller's guarantee (the guards). Taken
  // by pointer: the call path copies no layouts.
  // `draw`, when given, places the random ops (draws_random) in the stream; without it
  // they read where their attrs say (IR run as written, as kiln-opt does).
  [[nodiscard]] std::vector<Array> run(std::span<const Array *const> inputs,
                                       const RandomDraw *draw = nullptr) const;

  // One kernel step alone (the autotuner times variants this way). step_buffers makes
  // buffers of the step's real shapes, contiguous: its args in order, then a GEMM's
  // operands A and B; inputs hold `fill`, outputs are uninitialised. run_step runs the
  // step on them (or on any buffers of those types).
  [[nodiscard]] std::vector<Array> step_buffers(size_t step, double fill = 1.0) const;
  void run_step(size_t step, std::span<const Array> buffers) const;

 private:
  // The sizes a kernel step reads; an internal error for a symbolic kernel with none.
  const int64_t *symbol_sizes(const KernelStep &k) const;
  // What the profile says of each step, made on the first profiled call.
  const std::vector<profile::StepInfo> &step_infos() const;

  Plan plan_;
  std::shared_ptr<const KernelCode> code_;
  std::string name_;
  mutable std::once_flag step_infos_once_;
  mutable std::vector<profile::StepInfo> step_infos_;
};

}  // namespace kiln::runtime
