// Launching a generated CPU kernel: one task when the work is below the grain (no pool round
// trip), otherwise ranges of the outer loop on the pool, each starting at a multiple of the
// step's split.
#include "runtime/cpu_code.h"

#include <algorithm>

#include "ir/diag.h"
#include "runtime/gemm.h"
#include "runtime/thread_pool.h"

namespace kiln::runtime {

void CpuCode::launch(const KernelStep &k, const int64_t *sizes, void *const *args, const View *a,
                     const View *b) const {
  KILN_CHECK(k.code_index >= 0 && static_cast<size_t>(k.code_index) < entries_.size(),
             "step '{}' runs kernel {} of {}", k.name, k.code_index, entries_.size());
  void *entry = entries_[k.code_index];
  if (k.gemm) {
    KILN_CHECK(a != nullptr && b != nullptr, "gemm step '{}' without operands", k.name);
    return run_gemm(*k.gemm, reinterpret_cast<GemmMicroFn>(entry), *a, *b, args, sizes);
  }
  const KernelFn fn = reinterpret_cast<KernelFn>(entry);
  if (k.extent <= k.grain) return fn(args, sizes, 0, k.extent);
  if (k.split == 1)
    return parallel_for(k.extent, k.grain,
                        [=](int64_t lo, int64_t hi) { fn(args, sizes, lo, hi); });
  const int64_t split = k.split, extent = k.extent;
  parallel_for(
      (extent + split - 1) / split, std::max<int64_t>(1, k.grain / split),
      [=](int64_t lo, int64_t hi) { fn(args, sizes, lo * split, std::min(hi * split, extent)); });
}

}  // namespace kiln::runtime
