// RemoteCache: the shared tier behind the disk cache, in Redis, so that one machine's
// compile or tuning starts every other machine warm. Entries live under
// "kiln:v1:<kind>:<key>" with a time to live; publishing is SET NX, so two machines
// publishing one key leave one whole value. Bytes in, bytes out, like DiskCache: the value
// in Redis is a header line (format, HMAC-SHA256 signature) and the entry's bytes, and what
// is checked here is the signature and the size; the entry's content is checked by its
// reader, as a local entry's is.
//
// Faults never reach a caller as anything but a miss: an unreachable, slow or failing
// server is said once per outage (a warning; the outage ends when a connection answers
// PING), and after each fault it is left alone for RemoteCacheSettings::retry_after_s, so a
// call pays at most one timeout per that interval however many lookups it makes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/disk_cache.h"
#include "ir/settings.h"

namespace kiln::cache {

// Where a Redis server is: parsed from "redis://host[:port][/db]".
struct RemoteAddress {
  std::string host;
  int port = 6379;
  int db = 0;
  [[nodiscard]] std::string url() const;  // never with a password
};
// Nullopt, with `why` in words, for anything but redis://host[:port][/db].
[[nodiscard]] std::optional<RemoteAddress> parse_remote_url(std::string_view url, std::string &why);

struct RemoteStats {
  int64_t entries = 0, bytes = 0;
  int64_t hits = 0, misses = 0;  // lookups that reached Redis, from every machine
};

struct RemoteEntry {
  Kind kind;
  std::string key;
  int64_t bytes = 0;
  int64_t ttl_s = -1;  // seconds left, -1: none
};

// Whether this kiln was built with the remote tier (hiredis and libcrypto found).
[[nodiscard]] bool remote_cache_built();

class RemoteCache {
 public:
  // The tier for `settings` (connected on first use). Null, with `why`, when kiln was built
  // without it or the URL is malformed.
  [[nodiscard]] static std::unique_ptr<RemoteCache> open(const RemoteCacheSettings &settings,
                                                         std::string &why);
  ~RemoteCache();
  RemoteCache(const RemoteCache &) = delete;
  RemoteCache &operator=(const RemoteCache &) = delete;

  [[nodiscard]] std::string url() const { return address_.url(); }
  [[nodiscard]] bool signs() const { return !settings_.sign_key.empty(); }

  // The entry's bytes, or nullopt with `why`: "no entry", or why it could not be read or was
  // refused (unsigned or badly signed while a key is set, too large, not kiln's format, the
  // server unreachable or slow).
  [[nodiscard]] std::optional<std::string> read(Kind kind, std::string_view key, std::string &why);
  // Publishes unless an entry is there already (SET NX, with the time to live); `why` says
  // why not, for any outcome but Published.
  enum class Publish : uint8_t {
    Published,
    AlreadyThere,
    Refused,     // this entry: too large, or Redis said no (full: maxmemory; a replica)
    Unreachable  // the server: down, slow, resting after a fault
  };
  Publish publish(Kind kind, std::string_view key, std::string_view bytes, std::string &why);
  void remove(Kind kind, std::string_view key);
  void record(bool hit);  // counts a lookup in the server's shared statistics

  // For tools; `why` says what failed (an empty result and a reason).
  [[nodiscard]] RemoteStats stats(std::string &why);
  [[nodiscard]] std::vector<RemoteEntry> list(std::string &why);

  // The name of an entry in Redis: "kiln:v1:<kind>:<key>".
  [[nodiscard]] static std::string redis_key(Kind kind, std::string_view key);

 private:
  struct Connection;
  RemoteCache(RemoteCacheSettings settings, RemoteAddress address);
  // The live connection (made by this process: a forked child makes its own), connecting
  // first if needed; null (with `why`) when the server is unreachable or resting after a
  // failure. Called with mutex_ held.
  Connection *connection(std::string &why);
  // Drops the connection after a fault and rests; warns once per outage.
  void fail(const std::string &why);

  RemoteCacheSettings settings_;
  RemoteAddress address_;
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
  std::chrono::steady_clock::time_point resting_until_{};
  bool warned_ = false;          // this outage was said
  bool warned_publish_ = false;  // a refused publish (Redis full) was said
  std::string last_fault_;
};

}  // namespace kiln::cache
