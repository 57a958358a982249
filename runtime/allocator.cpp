// Caching allocator: size classes are powers of two split in four (<= 25% waste);
// the cache is capped so a program that changes sizes cannot hoard memory.
#include "runtime/allocator.h"

#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "ir/diag.h"

namespace kiln::runtime {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kMaxCachedBytes = size_t{2} << 30;

size_t size_class(size_t bytes) {
  if (bytes <= 256) return 256;
  size_t top = std::bit_floor(bytes);
  size_t quarter = top / 4;
  return (bytes + quarter - 1) / quarter * quarter;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void *>> free_blocks;
  AllocatorStats stats;
};

Cache &cache() {
  static Cache *c = new Cache();  // never destroyed: tensors may outlive static teardown
  return *c;
}

}  // namespace

void *allocate(size_t bytes) {
  size_t size = size_class(bytes);
  Cache &c = cache();
  {
    std::lock_guard lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void *p = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= static_cast<int64_t>(size);
      c.stats.live_bytes += static_cast<int64_t>(size);
      c.stats.peak_live_bytes = std::max(c.stats.peak_live_bytes, c.stats.live_bytes);
      return p;
    }
  }
  void *p = std::aligned_alloc(kAlignment, size);
  if (p == nullptr) {
    empty_cache();
    p = std::aligned_alloc(kAlignment, size);
  }
  if (p == nullptr) fail("out of memory: could not allocate {} bytes for a tensor", bytes);
  std::lock_guard lock(c.mutex);
  c.stats.live_bytes += static_cast<int64_t>(size);
  c.stats.peak_live_bytes = std::max(c.stats.peak_live_bytes, c.stats.live_bytes);
  return p;
}

void release(void *ptr, size_t bytes) {
  if (ptr == nullptr) return;
  size_t size = size_class(bytes);
  Cache &c = cache();
  std::lock_guard lock(c.mutex);
  c.stats.live_bytes -= static_cast<int64_t>(size);
  if (c.stats.cached_bytes + static_cast<int64_t>(size) > static_cast<int64_t>(kMaxCachedBytes)) {
    std::free(ptr);
    return;
  }
  c.free_blocks[size].push_back(ptr);
  c.stats.cached_bytes += static_cast<int64_t>(size);
}

AllocatorStats allocator_stats() {
  std::lock_guard lock(cache().mutex);
  return cache().stats;
}

void reset_peak_live_bytes() {
  std::lock_guard lock(cache().mutex);
  cache().stats.peak_live_bytes = cache().stats.live_bytes;
}

void empty_cache() {
  Cache &c = cache();
  std::lock_guard lock(c.mutex);
  for (auto &[size, blocks] : c.free_blocks)
    for (void *p : blocks) std::free(p);
  c.free_blocks.clear();
  c.stats.cached_bytes = 0;
}

}  // namespace kiln::runtime
