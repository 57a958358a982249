// Kernel IR: the loop-level form of one fused group, shared by the backends. A kernel is a
// tree of counted loops (the outermost may be split across threads, the innermost may be
// vectorized) over flat buffers, whose bodies define scalars (loads, constants, elementwise
// ops, accumulator results), fold scalars into accumulators, and store. Every index is
// affine in the loop variables, so a backend never re-derives a view.
//
// In a kernel built for dynamic shapes, extents, strides, offsets and buffer sizes may be
// polynomials over the symbols (ir::SymExpr: `for i1 in 0..s1`, `load %a0[s1*i0 + i1]`),
// and a scalar may be a size (the 1/s1 of a mean): the backend reads the symbols' values
// at run time, so one kernel serves every size.
//
// A matmul kernel (GroupKind::Matmul) adds a `Gemm`: the backend computes the product tile
// by tile with a register-tiled micro-kernel, and the loop tree is its epilogue, run on each
// finished tile, reading the product as a `Product` scalar (bias add, activation, residual).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attrs.h"
#include "ir/dtype.h"
#include "ir/gemm_tile.h"
#include "ir/op_kind.h"
#include "ir/sym_expr.h"

namespace kiln::lower {

struct KernelArg {
  std::string name;  // the IR value's print name
  DType dtype;
  ir::SymExpr numel;
  bool written;
  // A row's scratch: not a buffer the runtime passes but one the backend gives each call
  // (on the stack) and every row reuses, indexed by the row's inner loops. Always after the
  // real args.
  bool scratch = false;
  // Written once, never read by this kernel, and too big to stay in cache: the backend may
  // store it around the caches (non-temporal stores), saving the read of each line before
  // it is written. A buffer of symbolic size streams when, at run time, its bytes reach
  // `stream_bytes` (0: it may not stream).
  bool streaming = false;
  int64_t stream_bytes = 0;
};

// offset + sum over loops of strides[loop] * (that loop's variable).
struct Index {
  ir::SymExpr offset = 0;
  std::vector<ir::SymExpr> strides;  // one per loop of the kernel, 0 where the loop is unused
};

struct Scalar {
  // Product: a matmul kernel's product at this element (see Gemm). Size: a number that
  // follows the call's sizes (`scale * size` or `scale / size`, computed in f64), as this
  // dtype.
  enum class Kind : uint8_t { Load, Constant, Op, Acc, Product, Size } kind;
  DType dtype;
  int32_t arg = -1;               // Load
  Index index;                    // Load
  double value = 0;               // Constant of a float or bool dtype
  int64_t int_value = 0;          // Constant of an integer dtype (exact, beyond 2^53 too)
  OpKind op = OpKind::Add;        // Op: an elementwise op applied to `operands`
  Attrs attrs;                    // Op
  std::vector<int32_t> operands;  // Op: scalar ids
  int32_t acc = -1;               // Acc: the accumulator's value after its loop
  ir::SymExpr size;               // Size: scale * size, or scale / size if reciprocal
  bool reciprocal = false;        // Size
  double scale = 1;               // Size
};

struct Accumulator {
  OpKind combine;  // Sum, Prod, Max, Min, All, Any
  DType dtype;     // the type it accumulates in (f64 for float sums and products)
};

struct Loop {
  ir::SymExpr extent;
  bool parallel;      // the outermost loop: the runtime hands each thread a range of it
  bool vector;        // innermost: the backend processes several iterations at once
  int64_t split = 1;  // parallel: each thread's range starts at a multiple of this
};

struct Stmt {
  enum class Kind : uint8_t { Let, Store, AccInit, AccUpdate, For } kind;
  int32_t id = -1;         // Let, Store: the scalar; AccInit, AccUpdate: the accumulator; For: loop
  int32_t value = -1;      // AccUpdate: the scalar folded in
  int32_t arg = -1;        // Store
  Index index;             // Store
  std::vector<Stmt> body;  // For
};

// C[..., m, n] = A[..., m, k] x B[..., k, n], A and B read with whatever strides they have
// at run time (packing copies them into tile order, so a transposed weight needs no copy).
// The kernel's loops are then the epilogue's index space, not loops that run as such: the
// rows of C (every dim but the last, merged where possible) and its columns. The micro-
// kernel runs the innermost body at each vector of each finished tile, with the loop
// variables of that element. Its args do not include A and B unless it reads them itself.
struct Gemm {
  std::string a, b;        // the operands' print names
  DType dtype;             // of the product
  DType a_dtype, b_dtype;  // of A and B as stored: packing casts them to `dtype` (a prologue)
  std::vector<ir::SymExpr> a_shape, b_shape;
  ir::GemmTile tile;
};

struct Kernel {
  std::string name;
  std::vector<KernelArg> args;  // inputs first, then outputs
  std::vector<Loop> loops;
  std::vector<Scalar> scalars;
  std::vector<Accumulator> accs;
  std::vector<Stmt> body;    // one For over loop 0, the parallel loop
  std::optional<Gemm> gemm;  // a matmul kernel: the product its body's epilogue reads

  [[nodiscard]] ir::SymExpr parallel_extent() const { return loops.empty() ? 1 : loops[0].extent; }
  // Whether any extent, index, size or scalar uses a symbol.
  [[nodiscard]] bool symbolic() const;
};

// A clamp Op's bound (attrs "min" or "max") as eager reads it, for every backend: a float
// bound rounded to the dtype (f32 or f64; NaN stays NaN); an integer bound exact and
// saturating to the dtype, a double one saturating with NaN read as 0.
[[nodiscard]] double clamp_float_bound(const Attrs &attrs, std::string_view key, DType dtype);
[[nodiscard]] int64_t clamp_int_bound(const Attrs &attrs, std::string_view key, DType dtype);

// Kernel IR as text, e.g. `vector for i1 in 0..1024 {` / `v3: f32 = exp v2` /
// `store %y[1024*i0 + i1] = v7`; a parallel loop whose threads start at multiples of N
// reads `parallel for i0 in 0..4096 split N {`.
[[nodiscard]] std::string print_kernel(const Kernel &k);
// The same with names replaced by position: no kernel name, args %a0, %a1, …, GEMM
// operands %A and %B. Two kernels that compute the same thing print the same: this text is
// what symbols and content keys hash.
[[nodiscard]] std::string print_kernel_normalized(const Kernel &k);

}  // namespace kiln::lower
