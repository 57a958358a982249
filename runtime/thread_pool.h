// The runtime thread pool: parallel_for over an index range, used by eager kernels and
// compiled programs. Size from KILN_NUM_THREADS (default: hardware cores; at most
// kMaxThreads, ir/settings.h). Nested calls from inside a parallel region run serially on
// the calling thread.
#pragma once

#include <cstdint>
#include <functional>

namespace kiln::runtime {

[[nodiscard]] int num_threads();
// Resizes the pool; n outside [1, kMaxThreads] is an error. Not to be called from inside a
// parallel region.
void set_num_threads(int n);

// Splits [0, n) into chunks of at least `grain` indices and calls fn(begin, end) for each,
// across the pool. Returns when all chunks are done; rethrows the first exception.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &fn);

}  // namespace kiln::runtime
