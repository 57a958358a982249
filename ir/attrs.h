// Op attributes: a small list of (key, value) kept sorted by key, so printing is
// deterministic. Callers leave an attribute out when it has its default value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "ir/dtype.h"

namespace kiln {

using AttrValue = std::variant<bool, int64_t, double, std::vector<int64_t>, DType, std::string>;

class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items);

  Attrs &set(std::string_view key, AttrValue value);
  [[nodiscard]] bool has(std::string_view key) const { return find(key) != nullptr; }
  [[nodiscard]] const std::vector<std::pair<std::string, AttrValue>> &items() const {
    return items_;
  }

  // Typed reads with a default for absent keys. An i64 attribute reads as a double too.
  [[nodiscard]] bool get_bool(std::string_view key, bool fallback = false) const;
  [[nodiscard]] int64_t get_int(std::string_view key, int64_t fallback = 0) const;
  [[nodiscard]] double get_double(std::string_view key, double fallback = 0.0) const;
  [[nodiscard]] std::vector<int64_t> get_ints(std::string_view key) const;
  [[nodiscard]] DType get_dtype(std::string_view key, DType fallback = DType::F32) const;
  [[nodiscard]] std::string get_string(std::string_view key, std::string_view fallback) const;
  [[nodiscard]] const AttrValue *find(std::string_view key) const;

  // The same attributes: doubles compare by their bits, so -0.0 is not 0.0 (x / -0.0 is not
  // x / 0.0) and a NaN equals itself.
  friend bool operator==(const Attrs &a, const Attrs &b);

 private:
  std::vector<std::pair<std::string, AttrValue>> items_;
};

}  // namespace kiln
