// Storage: a shared, reference-counted block of tensor memory on one device.
// Views of a tensor share one Storage; the memory returns to the allocator with the last.
#pragma once

#include <cstddef>
#include <memory>

#include "ir/device.h"

namespace kiln::runtime {

class Storage {
 public:
  Storage() = default;
  // Fresh, uninitialised memory from the caching allocator.
  [[nodiscard]] static Storage allocate(size_t bytes, Device device = Device::cpu());

  [[nodiscard]] std::byte *data() const { return static_cast<std::byte *>(ptr_.get()); }
  [[nodiscard]] size_t bytes() const { return bytes_; }
  [[nodiscard]] Device device() const { return device_; }
  [[nodiscard]] bool same_as(const Storage &other) const { return ptr_ == other.ptr_; }

 private:
  std::shared_ptr<void> ptr_;
  size_t bytes_ = 0;
  Device device_;
};

}  // namespace kiln::runtime
