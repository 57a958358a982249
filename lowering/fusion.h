// Fusion: groups a decomposed graph's nodes into kernels. Elementwise DAGs of one shape
// become one pointwise kernel; pointwise producers and consumers of reductions over the same
// dims join them in one row kernel (softmax, layer_norm: one kernel); views of buffers and
// scalar constants are index arithmetic inside the kernels that read them, never copies.
// A float matmul is a kernel of its own whose pointwise consumers of its shape run as its
// epilogue, on each tile of the product while it is still in registers (bias, gelu).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "lowering/choices.h"

namespace kiln::lower {

enum class GroupKind : uint8_t {
  Pointwise,  // one loop nest over `shape`; every member is computed per element
  Row,        // per row of `shape`'s kept dims: reductions over `reduce_dims`, then stores
  Matmul,     // members[0] is a matmul producing `shape`; Prologue members cast its
              // operands; the rest, pointwise over `shape`, are its epilogue. inputs[0] and
              // inputs[1] are its operands (a cast operand's source)
  Library,    // one node the runtime runs itself: an integer matmul, cat, random sources, a
              // view kept as a buffer because a library node or the caller reads it
};

// How a kernel member is computed: per element of the iteration shape, once per row, or
// (a matmul's operand cast to its dtype) while the GEMM packs that operand.
enum class Role : uint8_t { Element, Row, Prologue };

struct Group {
  GroupKind kind = GroupKind::Library;
  Shape shape;                       // iteration shape; Row: the reductions' input shape
  std::vector<int64_t> reduce_dims;  // Row only: sorted, non-empty
  std::vector<int32_t> members;      // node indices in graph order (Library: exactly one;
                                     // Matmul: the matmul first)
  std::vector<Role> roles;           // parallel to members (Pointwise: all Element)
  std::vector<ir::ValueId> inputs;   // buffers read: graph inputs or other groups' outputs
  std::vector<ir::ValueId> outputs;  // members' values read after the group or returned
};

struct FusionPlan {
  std::vector<Group> groups;  // in an order that respects every dependency
};

// What a kernel operand is underneath its views: the views from the operand down to a root
// value, which is a buffer, a member of the same kernel, or a `full` constant.
struct ViewChain {
  ir::ValueId root = -1;
  std::vector<int32_t> views;  // view node indices, from the operand down to the root
  bool constant = false;       // the root is a `full` node: every element is one scalar
};

// Follows `v` down the views below it. The chain stops at a reshape that has a permute,
// slice or broadcast below it: strides cannot always express that, so such a reshape is run
// by the runtime (view or copy) and read as a buffer.
// `producer` is producer_nodes(g).
[[nodiscard]] ViewChain resolve_views(const ir::Graph &g, std::span<const int32_t> producer,
                                      ir::ValueId v);

// Requires a verified graph, best after `decompose` (composites run as library nodes).
// Guarantees: every node that computes something is a member of exactly one group; group
// order respects data dependencies; every group input is a graph input or an output of an
// earlier group; every graph output is some group's output or a graph input.
// `choices` caps what one kernel may hold (lowering/choices.h).
[[nodiscard]] FusionPlan fuse(const ir::Graph &g, const FusionChoices &choices = {});

// The graph with each kernel group as one `call` line, followed by one `kernel` block per
// group listing its members (and the views and constants it inlines) in IR text.
[[nodiscard]] std::string print_fused(const ir::Graph &g, const FusionPlan &plan);

// Fusion is not a graph-to-graph pass, but tools accept it closing a pipeline text
// ("cse,dce,fuse"): removes that last `fuse` and returns whether it was there.
[[nodiscard]] bool take_trailing_fuse(std::string &pipeline);

// "pointwise", "row", "matmul", "library".
[[nodiscard]] std::string_view group_kind_name(GroupKind kind);

}  // namespace kiln::lower
