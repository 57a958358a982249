// A caching allocator for CPU tensor memory: freed blocks are kept by size class and
// handed out again, so repeated ops of the same size do not page-fault fresh memory.
// Blocks are 64-byte aligned (one cache line, one AVX-512 vector).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln::runtime {

[[nodiscard]] void *allocate(size_t bytes);
void release(void *ptr, size_t bytes);

struct AllocatorStats {
  int64_t cached_bytes = 0;  // held in free lists, ready for reuse
  int64_t live_bytes = 0;    // handed out and not yet released
  int64_t peak_live_bytes = 0;
};
[[nodiscard]] AllocatorStats allocator_stats();
void reset_peak_live_bytes();
void empty_cache();  // returns every cached block to the system

}  // namespace kiln::runtime
