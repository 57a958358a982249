// SmallBuffer<T, N>: n default-constructed elements, held inline when n <= N and on the
// heap otherwise. For per-call operand lists on hot paths (dispatch, execute), where
// almost every op has at most four operands and a heap allocation would dominate.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace kiln {

template <class T, size_t N>
class SmallBuffer {
 public:
  explicit SmallBuffer(size_t n) : span_(inline_, n <= N ? n : 0) {
    if (n > N) {
      heap_.resize(n);
      span_ = heap_;
    }
  }
  SmallBuffer(const SmallBuffer &) = delete;
  SmallBuffer &operator=(const SmallBuffer &) = delete;

  [[nodiscard]] std::span<T> span() { return span_; }
  T &operator[](size_t i) { return span_[i]; }

 private:
  T inline_[N];
  std::vector<T> heap_;
  std::span<T> span_;
};

}  // namespace kiln
