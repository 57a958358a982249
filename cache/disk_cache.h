// DiskCache: compiled artifacts and the records that lead to them, on disk, for a second
// process to start warm. A folder the user owns (mode 0700) with one file per entry, named
// by its key; writes are atomic (a temporary file renamed into place), reads refuse any file
// or folder another user owns or could have written, and the total size is bounded by
// evicting the least recently used entries. Bytes in, bytes out: checking that an entry's
// content is what its name says is the reader's part (lowering::deserialize does it).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::cache {

// What an entry is: an artifact (key: its content key), a graph record (key: the graph's
// key; content: the artifact key it compiled to), a graph's index (key: the graph text's
// hash; content: which target, choices and versions it was compiled with, to say why a
// lookup missed), or a kernel's tuning (key: its normalized IR, target and search; content:
// the chosen knobs and the table measured).
enum class Kind : uint8_t { Artifact, Graph, Index, Tuning };
inline constexpr std::array<Kind, 4> kAllKinds = {Kind::Artifact, Kind::Graph, Kind::Index,
                                                  Kind::Tuning};

struct EntryInfo {
  Kind kind;
  std::string key;
  int64_t bytes = 0;
  int64_t last_used = 0;  // seconds since the epoch (the file's modification time)
};

struct Stats {
  int64_t entries = 0, bytes = 0;
  int64_t hits = 0, misses = 0;  // recorded by every process that used the folder
};

class DiskCache {
 public:
  // The cache in `dir`, created (with its parents) mode 0700 if missing. Null, with `why`
  // set in words, when the folder is not one kiln may load code from: not a folder, a
  // symbolic link, owned by another user, or writable by group or others.
  [[nodiscard]] static std::unique_ptr<DiskCache> open(const std::string &dir, int64_t max_bytes,
                                                       std::string &why);

  [[nodiscard]] const std::string &dir() const { return dir_; }
  [[nodiscard]] int64_t max_bytes() const { return max_bytes_; }

  // The entry's bytes, or nullopt (with `why`: "no entry", or why the file was refused: a
  // refused file is removed). A hit marks the entry used now, for eviction, unless
  // `mark_used` is false (a tool looking, not a compile using it).
  [[nodiscard]] std::optional<std::string> read(Kind kind, std::string_view key, std::string &why,
                                                bool mark_used = true) const;
  // Writes atomically; a concurrent writer of the same key leaves one whole file. Then
  // evicts the least recently used entries past max_bytes. Failures (a full disk) are
  // silent: the cache is an optimisation, and the caller has the compiled code already.
  void write(Kind kind, std::string_view key, std::string_view bytes) const;
  void remove(Kind kind, std::string_view key) const;

  void record(bool hit) const;  // counts a lookup in the folder's shared statistics
  [[nodiscard]] Stats stats() const;
  [[nodiscard]] std::vector<EntryInfo> list() const;  // most recently used first
  // Removes least recently used entries until the entries take at most `max_bytes`;
  // returns how many it removed.
  int64_t prune(int64_t max_bytes) const;
  void clear() const;  // every entry and the statistics

 private:
  DiskCache(std::string dir, int64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  [[nodiscard]] std::string path_of(Kind kind, std::string_view key) const;
  std::string dir_;
  int64_t max_bytes_;
};

// "artifact", "graph", "index", "tuning".
[[nodiscard]] std::string_view kind_name(Kind kind);

// Whether `key` may name an entry: 1 to 64 characters of [0-9a-f].
[[nodiscard]] bool valid_key(std::string_view key);

}  // namespace kiln::cache
