// Storage: a shared, reference-counted block of tensor memory on one device.
// Views of a tensor share one Storage; the memory returns to the allocator with the last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ir/device.h"

namespace kiln::runtime {

class Storage {
 public:
  Storage() = default;
  // Fresh, uninitialised memory from the caching allocator.
  [[nodiscard]] static Storage allocate(size_t bytes, Device device = Device::cpu());

  [[nodiscard]] std::byte *data() const { return data_; }
  [[nodiscard]] size_t bytes() const { return block_ ? block_->bytes : 0; }
  [[nodiscard]] Device device() const { return device_; }
  // Storage objects sharing this memory (views, arrays, tensors).
  [[nodiscard]] long use_count() const { return block_.use_count(); }
  [[nodiscard]] bool same_as(const Storage &other) const {
    return block_ != nullptr && block_ == other.block_;
  }

  // Every in-place write through any view bumps the version, so autograd can tell that a
  // tensor it saved for a gradient has changed since (frontend/autograd.cpp).
  [[nodiscard]] uint64_t version() const { return block_ ? block_->version : 0; }
  // The in-place op that wrote last ("" before any), for the error that names it.
  [[nodiscard]] std::string_view last_writer() const {
    return block_ ? block_->last_writer : std::string_view();
  }
  void bump_version(const char *writer) const {
    if (!block_) return;
    ++block_->version;
    block_->last_writer = writer;
  }

 private:
  struct Block {
    void *ptr = nullptr;
    size_t bytes = 0;
    uint64_t version = 0;
    const char *last_writer = "";
    Block(void *p, size_t n) : ptr(p), bytes(n) {}
    Block(const Block &) = delete;
    Block &operator=(const Block &) = delete;
    ~Block();
  };
  std::shared_ptr<Block> block_;
  std::byte *data_ = nullptr;
  Device device_;
};

}  // namespace kiln::runtime
