// A caching allocator for CPU tensor memory: freed blocks are kept by size class and
// handed out again, so repeated ops of the same size do not page-fault fresh memory.
// Blocks are 64-byte aligned (one cache line, one AVX-512 vector).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln::runtime {

[[nodiscard]] void *allocate(size_t bytes);
void release(void *ptr, size_t bytes);

// Scratch memory from the allocator for the length of a scope (GEMM packing buffers).
class ScratchBuffer {
 public:
  explicit ScratchBuffer(size_t bytes)
      : bytes_(bytes), ptr_(bytes > 0 ? allocate(bytes) : nullptr) {}
  ~ScratchBuffer() {
    if (ptr_ != nullptr) release(ptr_, bytes_);
  }
  ScratchBuffer(const ScratchBuffer &) = delete;
  ScratchBuffer &operator=(const ScratchBuffer &) = delete;
  template <class T>
  [[nodiscard]] T *as() const {
    return static_cast<T *>(ptr_);
  }

 private:
  size_t bytes_;
  void *ptr_;
};

struct AllocatorStats {
  int64_t cached_bytes = 0;  // held in free lists, ready for reuse
  int64_t live_bytes = 0;    // handed out and not yet released
  int64_t peak_live_bytes = 0;
};
[[nodiscard]] AllocatorStats allocator_stats();
void reset_peak_live_bytes();
void empty_cache();  // returns every cached block to the system
// Most bytes the free lists may hold (KILN_CACHED_MEMORY_MB, default 2 GiB); a lower
// limit frees cached blocks now. 0 turns caching off.
void set_cache_limit(int64_t bytes);
[[nodiscard]] int64_t cache_limit();

}  // namespace kiln::runtime
