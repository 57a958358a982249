// A graph record's text: the artifact key on the first line, then "name = value" lines
// (read with from_chars, so the locale cannot change a number).
#include "cache/graph_record.h"

#include <fmt/format.h>

#include <charconv>

namespace kiln::cache {

std::string GraphRecord::text() const {
  return fmt::format("{}\ncompile_ms = {:.3f}\nsearch_ms = {:.3f}\n", artifact, compile_ms,
                     search_ms);
}

std::optional<GraphRecord> GraphRecord::parse(std::string_view text) {
  GraphRecord r;
  const size_t nl = text.find('\n');
  r.artifact = std::string(text.substr(0, nl));
  if (r.artifact.size() != 32 ||
      r.artifact.find_first_not_of("0123456789abcdef") != std::string::npos)
    return std::nullopt;
  text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string line(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const size_t eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    const std::string name = line.substr(0, eq);
    double value = 0;
    if (std::from_chars(line.data() + eq + 3, line.data() + line.size(), value).ec != std::errc())
      continue;
    if (name == "compile_ms") r.compile_ms = value;
    if (name == "search_ms") r.search_ms = value;
  }
  return r;
}

}  // namespace kiln::cache
