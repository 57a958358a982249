// The parts of the remote tier that need no Redis client: its URL and its key names.
#include <fmt/format.h>

#include <charconv>

#include "cache/remote_cache.h"

namespace kiln::cache {

std::string RemoteAddress::url() const { return fmt::format("redis://{}:{}/{}", host, port, db); }

std::optional<RemoteAddress> parse_remote_url(std::string_view url, std::string &why) {
  constexpr std::string_view kScheme = "redis://";
  auto bad = [&](std::string_view what) {
    why = fmt::format("KILN_CACHE_REMOTE: {}; expected redis://host[:port][/db]", what);
    return std::nullopt;
  };
  if (!url.starts_with(kScheme)) return bad("not a redis:// URL");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find('@') != std::string_view::npos)
    return bad("a password in the URL (set KILN_CACHE_REMOTE_PASSWORD instead)");
  auto number = [](std::string_view text, int min, int max) -> std::optional<int> {
    int v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || end != text.data() + text.size() || ec != std::errc() || v < min || v > max)
      return std::nullopt;
    return v;
  };
  RemoteAddress out;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      const std::optional<int> n = number(db, 0, 1 << 20);
      // The text is not echoed: a mistyped URL may hold a secret ("?password=…").
      if (!n) return bad("the database after '/' is not a number");
      out.db = *n;
    }
    rest = rest.substr(0, slash);
  }
  if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    const std::optional<int> port = number(rest.substr(colon + 1), 1, 65535);
    if (!port) return bad("the port after ':' is not a number from 1 to 65535");
    out.port = *port;
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no host");
  out.host = std::string(rest);
  return out;
}

std::string RemoteCache::redis_key(Kind kind, std::string_view key) {
  return fmt::format("kiln:v1:{}:{}", kind_name(kind), key);
}

}  // namespace kiln::cache
