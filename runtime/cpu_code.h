// CpuCode: generated CPU kernels as a Program's KernelCode. Kernel k is a function pointer
// (runtime::KernelFn, or a GEMM's micro-kernel); launching splits a kernel's outer loop over
// the thread pool, or hands a GEMM to run_gemm. A backend derives from it to own the code.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/program.h"

namespace kiln::runtime {

// A generated kernel: runs iterations [begin, end) of its outermost loop over `args`, the
// data pointers of its input then output buffers (all contiguous), at the symbols' `sizes`.
using KernelFn = void (*)(void *const *args, const int64_t *sizes, int64_t begin, int64_t end);

class CpuCode : public KernelCode {
 public:
  void launch(const KernelStep &step, const int64_t *sizes, void *const *args, const View *a,
              const View *b) const override;

 protected:
  // One per kernel number: a KernelFn, or a GemmMicroFn for a kernel whose steps are GEMMs.
  std::vector<void *> entries_;
};

}  // namespace kiln::runtime
