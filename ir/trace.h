// The structured compile trace (KILN_TRACE=path.jsonl): one JSON object per line per event
// of every compile — its start and end with per-stage times, the graph after tracing and
// after each pass that changed it, guards, fusion groups, kernel IR, autotune tables, cache
// outcomes, recompiles with their reasons, graph breaks and eager fallbacks. Lines are
// appended with one write each, so processes sharing a file do not interleave within a line.
// Every line has "ts_us" (microseconds since the epoch), "pid" and "event"; README's
// "Compile trace" lists each event's fields.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace kiln::trace {

[[nodiscard]] bool enabled();
// Overrides KILN_TRACE for this process ("" turns it off); the file is appended to.
void set_file(std::string path);

struct Field {
  std::string_view name;
  std::variant<std::string_view, int64_t, double, bool> value;
};
void event(std::string_view name, std::initializer_list<Field> fields);

// `text` as a JSON string literal, quotes included.
[[nodiscard]] std::string json_quote(std::string_view text);

}  // namespace kiln::trace
