// Memory planning for a compiled program: intermediate buffers with disjoint lifetimes share
// bytes of one arena. First fit over blocks freed by earlier steps, 64-byte aligned.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::runtime {

struct BufferLife {
  int64_t bytes;
  int32_t first_step;  // the step that writes it
  int32_t last_step;   // the last step that reads it (or any view of it)
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // per buffer, into the arena
  int64_t arena_bytes = 0;
  int64_t unshared_bytes = 0;  // what the buffers would take without reuse
};

// Buffers whose lifetimes overlap ([first_step, last_step] intersect) never share bytes.
[[nodiscard]] MemoryPlan plan_memory(const std::vector<BufferLife> &buffers);

}  // namespace kiln::runtime
