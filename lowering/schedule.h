// Scheduling: one fused group (lowering/fusion.h) becomes kernel IR (lowering/kernel_ir.h). Views
// turn into strides, loops over dims that every access walks contiguously are merged, the outermost
// loop is marked parallel and the innermost vector; a row group runs one pass over each row per
// level of reductions that depend on each other (softmax: max, sum, store).
#pragma once

#include <string>
#include <vector>

#include "lowering/choices.h"
#include "lowering/fusion.h"
#include "lowering/kernel_ir.h"

namespace kiln::lower {

// Requires a Pointwise, Row or Matmul group of fuse(g). The kernel's args are group.inputs
// then group.outputs, in that order, each a contiguous buffer of the value's type, then any
// rows of scratch; a Matmul kernel leaves out inputs[0] and inputs[1], its operands, which
// the GEMM reads itself.
struct ScheduleOptions {
  // Of the target's vector registers (lower::Target::vector_bytes): sizes the GEMM tile.
  int64_t vector_bytes = 0;
  // The graph's scheduling knobs. An output marked streaming at witness sizes streams in a
  // dynamic entry only where the call's bytes say so (KernelArg::stream_bytes).
  ScheduleChoices schedule;
  KernelChoices kernel;  // this kernel's (its GEMM tile, streaming, row scratch)
};

// What every kernel's schedule reads about its graph, computed once per graph (a graph of
// many kernels would otherwise pay for the whole graph once per kernel).
struct GraphIndex {
  explicit GraphIndex(const ir::Graph &g);
  std::vector<int32_t> producer;   // ir::producer_nodes(g)
  std::vector<std::string> names;  // ir::print_names(g)
};

[[nodiscard]] lower::Kernel schedule(const ir::Graph &g, const GraphIndex &index,
                                     const lower::Group &group, std::string name,
                                     const ScheduleOptions &options);

// The register tile of a GEMM of `dtype` for vectors of `vector_bytes`: two vectors wide,
// with as many rows as leave registers for the operands (AVX-512: 8 x 2 of 32; AVX2:
// 6 x 2 of 16).
[[nodiscard]] ir::GemmTile gemm_tile(DType dtype, int64_t vector_bytes);

}  // namespace kiln::lower
