// Caching allocator: size classes are powers of two split in four (<= 25% waste);
// the cache is capped so a program that changes sizes cannot hoard memory.
#include "runtime/allocator.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "ir/diag.h"
#include "ir/settings.h"

namespace kiln::runtime {
namespace {

constexpr size_t kAlignment = 64;
constexpr int64_t kDefaultCachedBytes = int64_t{2} << 30;

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
  int64_t limit = env_cached_memory_bytes(kDefaultCachedBytes);
};

// Frees cached blocks, largest first, until the cache holds at most `keep` bytes.
void trim(Cache &c, int64_t keep) {
  std::vector<size_t> sizes;
  for (const auto &[size, blocks] : c.free_blocks) sizes.push_back(size);
  std::sort(sizes.rbegin(), sizes.rend());
  for (size_t size : sizes) {
    std::vector<void *> &blocks = c.free_blocks[size];
    while (!blocks.empty() && c.stats.cached_bytes > keep) {
      std::free(blocks.back());
      blocks.pop_back();
      c.stats.cached_bytes -= static_cast<int64_t>(size);
    }
    if (blocks.empty()) c.free_blocks.erase(size);
  }
}

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
  if (c.stats.cached_bytes + static_cast<int64_t>(size) > c.limit) {
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
  trim(c, 0);
}

void set_cache_limit(int64_t bytes) {
  if (bytes < 0) fail("set_cache_limit: expected a non-negative number of bytes, got {}", bytes);
  Cache &c = cache();
  std::lock_guard lock(c.mutex);
  c.limit = bytes;
  trim(c, bytes);
}

int64_t cache_limit() {
  std::lock_guard lock(cache().mutex);
  return cache().limit;
}

}  // namespace kiln::runtime
