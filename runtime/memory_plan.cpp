// First-fit interval packing: buffers are placed in the order they are written; a buffer
// may take the bytes of any earlier one whose last read comes before its first write.
#include "runtime/memory_plan.h"

#include <algorithm>

namespace kiln::runtime {
namespace {

constexpr int64_t kAlign = 64;

int64_t aligned(int64_t bytes) {
  return (std::max<int64_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
}

}  // namespace

MemoryPlan plan_memory(const std::vector<BufferLife> &buffers) {
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<size_t> order(buffers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return buffers[a].first_step < buffers[b].first_step;
  });
  std::vector<size_t> placed;
  for (size_t i : order) {
    const int64_t size = aligned(buffers[i].bytes);
    plan.unshared_bytes += size;
    // Ranges taken by placed buffers still alive when this one is written, by offset.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t p : placed)
      if (buffers[p].last_step >= buffers[i].first_step)
        busy.emplace_back(plan.offsets[p], plan.offsets[p] + aligned(buffers[p].bytes));
    std::sort(busy.begin(), busy.end());
    int64_t at = 0;
    for (const auto &[begin, end] : busy) {
      if (begin - at >= size) break;
      at = std::max(at, end);
    }
    plan.offsets[i] = at;
    plan.arena_bytes = std::max(plan.arena_bytes, at + size);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace kiln::runtime
