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
#include "lowering/artifact.h"

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

  // The first tier's entry that `check` accepts, or nullopt with `why`: the disk's reason
  // ("no entry" when the disk has none, whatever Redis said: KILN_LOGS=cache says that). A
  // damaged disk entry is removed (and said); a refused remote one is said and never loaded:
  // removed from Redis when its content is bad, left there when only its signature is (this
  // process's key may be the wrong one). A remote hit is written to disk.
  [[nodiscard]] std::optional<Found> read(Kind kind, std::string_view key, std::string &why,
                                          const Check &check) const;
  // Writes to disk and, unless `publish` is false, to the remote tier. True when every tier
  // now holds the entry as far as this process knows (no remote tier; published; or there
  // already): a graph record is published only after the artifact it names.
  bool write(Kind kind, std::string_view key, std::string_view bytes, bool publish = true) const;
  // Removes the entry from every tier (an entry that passed its checks and still proved bad).
  void remove(Kind kind, std::string_view key) const;
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

// "" when `bytes` are a good entry of `kind` named `key`, else why not: an artifact reads back
// (format version, checksum, plan) with the content key it is named by (and is returned in
// `artifact` when given); a graph record parses; a tuning record is not empty. What a
// compile checks besides (the Target) is the caller's.
[[nodiscard]] std::string check_entry(Kind kind, std::string_view key, std::string_view bytes,
                                      lower::Artifact *artifact = nullptr);

// What push() did: entries published, already there, and each one not pushed with why.
struct PushResult {
  int64_t published = 0, already_there = 0;
  std::vector<std::string> not_pushed;  // "<kind> <key>: <why>"
  std::string fault;                    // Redis could not be reached or failed: the rest waits
};

// Publishes the disk cache's shared entries (artifacts, graph records, tuning records; not
// the index, a machine's own history) that check_entry accepts.
[[nodiscard]] PushResult push(const DiskCache &disk, RemoteCache &remote);

}  // namespace kiln::cache
