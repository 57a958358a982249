// The one header a kiln user includes.
#pragma once

#include "ir/diag.h"
#include "kiln/autograd.h"
#include "kiln/compile.h"
#include "kiln/nn.h"
#include "kiln/ops.h"
#include "kiln/optim.h"
#include "kiln/profile.h"
#include "kiln/scalar.h"
#include "kiln/tensor.h"

namespace kiln {

// Threads used by eager kernels (KILN_NUM_THREADS at start-up; default: all cores).
[[nodiscard]] int num_threads();
void set_num_threads(int n);

// The caching allocator keeps freed tensor memory for reuse (so repeated ops of one size
// do not page-fault fresh memory), up to a limit: KILN_CACHED_MEMORY_MB at start-up,
// default 2048. Like torch.cuda's memory_stats / empty_cache.
struct MemoryStats {
  int64_t live_bytes = 0;       // held by tensors and programs now
  int64_t peak_live_bytes = 0;  // the most held at once so far
  int64_t cached_bytes = 0;     // freed, kept for reuse
  int64_t cache_limit_bytes = 0;
};
[[nodiscard]] MemoryStats memory_stats();
// Returns every cached block to the system; live tensors are untouched.
void empty_cache();
// Most bytes the cache keeps from now on (0: none); a lower limit frees blocks now.
void set_cache_limit(int64_t bytes);

// CUDA: whether this machine has a driver and a device (the driver is loaded at first use,
// so kiln runs without one). kiln generates CUDA C for its kernels and tests it by
// emulation (README: CUDA), but runs nothing on a device yet.
namespace cuda {
[[nodiscard]] bool is_available();
[[nodiscard]] std::string why_unavailable();  // "" when available; else in words
[[nodiscard]] int device_count();
}  // namespace cuda

}  // namespace kiln
