// A graph record: what a compile key led to (the artifact's key) and what that compile cost
// (so `kiln-cache show` can say how much a warm start saves). Text, one "name = value" per
// line after the key; a record of an older kiln holds the key alone and still reads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kiln::cache {

struct GraphRecord {
  std::string artifact;   // the artifact's content key
  double compile_ms = 0;  // fusion, scheduling and the backend's compile, search excluded
  double search_ms = 0;   // the autotune search that chose its knobs (0: none)

  [[nodiscard]] std::string text() const;
  // nullopt when the first line is not a 32-digit key (a damaged entry).
  [[nodiscard]] static std::optional<GraphRecord> parse(std::string_view text);
};

}  // namespace kiln::cache
