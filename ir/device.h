// Where a tensor's memory lives: "cpu" or "cuda:N".
#pragma once

#include <cstdint>
#include <string>

namespace kiln {

struct Device {
  enum class Kind : uint8_t { Cpu, Cuda };
  Kind kind = Kind::Cpu;
  int index = 0;

  [[nodiscard]] static Device cpu() { return {}; }
  [[nodiscard]] static Device cuda(int index = 0) { return {Kind::Cuda, index}; }
  [[nodiscard]] bool is_cpu() const { return kind == Kind::Cpu; }
  [[nodiscard]] std::string name() const;
  friend bool operator==(const Device &, const Device &) = default;
};

}  // namespace kiln
