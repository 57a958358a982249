// Storage allocation through the caching allocator.
#include "runtime/storage.h"

#include "ir/diag.h"
#include "runtime/allocator.h"

namespace kiln::runtime {

Storage::Block::~Block() { release(ptr, bytes); }

Storage Storage::allocate(size_t bytes, Device device) {
  if (!device.is_cpu())
    fail("cannot allocate on {}: this build of kiln has no CUDA runtime yet", device.name());
  Storage s;
  s.device_ = device;
  s.block_ = std::make_shared<Block>(runtime::allocate(bytes), bytes);
  s.data_ = static_cast<std::byte *>(s.block_->ptr);
  return s;
}

}  // namespace kiln::runtime
