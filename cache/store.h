// Store: the cache's tiers in the order a compile asks them — the disk cache, then (when
// KILN_CACHE_REMOTE names one) the shared Redis tier. An entry from Redis is checked exactly
// as a local one is, by the caller's `check` (for an artifact: version, checksum, key,
// Target), and only then written to the disk cache; what is compiled or tuned here is
// written to disk and published. The remote tier never fails a lookup louder than a miss.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/disk_cache.h"
#include "cache/remote_cache.h"

namespace kiln::cache {

enum class Tier : uint8_t { Disk, Remote };

struct Found {
  std::string bytes;
  Tier tier = Tier::Disk;
};

class Store {
 public:
  // "" when `bytes` are a good entry for this lookup, else why not (in words).
  using Check = std::function<std::string(std::string_view bytes)>;

  // `remote` may be null (no shared tier).
  Store(std::shared_ptr<const DiskCache> disk, std::shared_ptr<RemoteCache> remote)
      : disk_(std::move(disk)), remote_(std::move(remote)) {}

  // The first tier's entry that `check` accepts, or nullopt with `why` (the last tier's
  // reason). A damaged disk entry is removed (and said once); a refused remote one is said
  // and never loaded: removed from Redis when its content is bad, left there when only its
  // signature is (this process's key may be the wrong one). A remote hit is written to disk.
  [[nodiscard]] std::optional<Found> read(Kind kind, std::string_view key, std::string &why,
                                          const Check &check) const;
  // Writes to disk and, unless `publish` is false, to the remote tier.
  void write(Kind kind, std::string_view key, std::string_view bytes, bool publish = true) const;
  // Counts a lookup: in the disk cache's statistics, and in Redis's when it was asked.
  void record(bool hit, bool asked_remote) const;

  [[nodiscard]] const DiskCache &disk() const { return *disk_; }
  [[nodiscard]] RemoteCache *remote() const { return remote_.get(); }
  // "the disk cache" or "Redis at redis://host:port/db", for messages.
  [[nodiscard]] std::string tier_name(Tier tier) const;

 private:
  std::shared_ptr<const DiskCache> disk_;
  std::shared_ptr<RemoteCache> remote_;
};

// What push() did: entries published, already there, and each one not pushed with why.
struct PushResult {
  int64_t published = 0, already_there = 0;
  std::vector<std::string> not_pushed;  // "<kind> <key>: <why>"
  std::string fault;                    // Redis could not be reached or failed: the rest waits
};

// Publishes the disk cache's shared entries (artifacts, graph records, tuning records; not
// the index, a machine's own history) that `check(kind, key, bytes)` accepts ("" = good).
[[nodiscard]] PushResult push(
    const DiskCache &disk, RemoteCache &remote,
    const std::function<std::string(Kind, const std::string &, const std::string &)> &check);

}  // namespace kiln::cache
