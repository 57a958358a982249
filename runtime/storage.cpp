// Storage allocation through the caching allocator.
#include "runtime/storage.h"

#include "ir/diag.h"
#include "runtime/allocator.h"

namespace kiln::runtime {

Storage Storage::allocate(size_t bytes, Device device) {
  if (!device.is_cpu())
    fail("cannot allocate on {}: this build of kiln has no CUDA runtime yet", device.name());
  Storage s;
  s.bytes_ = bytes;
  s.device_ = device;
  s.ptr_ = std::shared_ptr<void>(runtime::allocate(bytes), [bytes](void *p) { release(p, bytes); });
  return s;
}

}  // namespace kiln::runtime
