// The cache folder on disk: <dir>/v1/<kind>/<key>, a `stats` file of lookups and a `lock`
// file that serializes updates of it. Trust is checked where code could come in: the folder
// when it is opened, each file when it is read (opened without following links, then
// fstat'ed, so what is checked is what is read).
#include "cache/disk_cache.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace kiln::cache {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kLayout = "v1";  // bumped when the folder's layout changes

// Why a file or folder with this status must not be trusted, or "".
std::string distrust(const struct stat &st, std::string_view what, const std::string &path) {
  if (st.st_uid != geteuid())
    return fmt::format("{} '{}' is owned by user {}, not by this user ({})", what, path, st.st_uid,
                       geteuid());
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return fmt::format("{} '{}' is writable by {} (mode {:04o})", what, path,
                       (st.st_mode & S_IWOTH) != 0 ? "others" : "its group", st.st_mode & 07777);
  return "";
}

// The folder, made with mode 0700 where missing (parents too), then checked.
std::string make_trusted_dir(const std::string &dir) {
  std::error_code ec;
  fs::path partial;
  for (const fs::path &part : fs::path(dir)) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
      return fmt::format("cannot create cache folder '{}': {}", partial.string(),
                         std::strerror(errno));
  }
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0)
    return fmt::format("cannot read cache folder '{}': {}", dir, std::strerror(errno));
  if (S_ISLNK(st.st_mode)) return fmt::format("cache folder '{}' is a symbolic link", dir);
  if (!S_ISDIR(st.st_mode)) return fmt::format("cache folder '{}' is not a folder", dir);
  return distrust(st, "cache folder", dir);
}

std::string read_fd(int fd) {
  std::string out;
  std::array<char, 1 << 16> chunk;
  while (true) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(chunk.data(), static_cast<size_t>(n));
  }
  return out;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// A name no other writer uses: pid, a per-process counter and random bits.
std::string temp_name() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format(".tmp.{}.{}.{:x}", ::getpid(), counter++, random());
}

// Writes `bytes` to `path` atomically: a temporary file in the same folder, renamed.
bool write_atomically(const std::string &path, std::string_view bytes) {
  const std::string tmp = (fs::path(path).parent_path() / temp_name()).string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok = write_all(fd, bytes);
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

// An exclusive lock on the folder's lock file while it lives.
class FolderLock {
 public:
  explicit FolderLock(const std::string &dir) {
    fd_ = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ >= 0) (void)::flock(fd_, LOCK_EX);
  }
  ~FolderLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FolderLock(const FolderLock &) = delete;
  FolderLock &operator=(const FolderLock &) = delete;

 private:
  int fd_ = -1;
};

std::pair<int64_t, int64_t> read_counts(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return {0, 0};
  const std::string text = read_fd(fd);
  ::close(fd);
  long long hits = 0, misses = 0;
  if (std::sscanf(text.c_str(), "hits %lld\nmisses %lld", &hits, &misses) != 2) return {0, 0};
  return {hits, misses};
}

}  // namespace

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::Artifact: return "artifact";
    case Kind::Graph: return "graph";
    case Kind::Index: return "index";
    case Kind::Tuning: return "tuning";
  }
  return "?";
}

bool valid_key(std::string_view key) {
  return !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

std::unique_ptr<DiskCache> DiskCache::open(const std::string &dir, int64_t max_bytes,
                                           std::string &why) {
  if (dir.empty()) {
    why = "no cache folder";
    return nullptr;
  }
  why = make_trusted_dir(dir);
  if (!why.empty()) return nullptr;
  const std::string root = (fs::path(dir) / kLayout).string();
  for (Kind kind : kAllKinds) {
    why = make_trusted_dir((fs::path(root) / kind_name(kind)).string());
    if (!why.empty()) return nullptr;
  }
  return std::unique_ptr<DiskCache>(new DiskCache(root, max_bytes));
}

std::string DiskCache::path_of(Kind kind, std::string_view key) const {
  return fmt::format("{}/{}/{}", dir_, kind_name(kind), key);
}

std::optional<std::string> DiskCache::read(Kind kind, std::string_view key, std::string &why,
                                           bool mark_used) const {
  if (!valid_key(key)) {
    why = fmt::format("'{}' is not a cache key", key);
    return std::nullopt;
  }
  const std::string path = path_of(kind, key);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    why = errno == ENOENT ? "no entry"
                          : fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    if (errno == ELOOP) (void)::unlink(path.c_str());  // a link planted in the folder
    return std::nullopt;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    why = fmt::format("'{}' is not a regular file", path);
    return std::nullopt;
  }
  why = distrust(st, "cache entry", path);
  if (!why.empty()) {
    ::close(fd);
    (void)::unlink(path.c_str());
    return std::nullopt;
  }
  std::string bytes = read_fd(fd);
  if (mark_used) (void)::futimens(fd, nullptr);  // used now: the last to be evicted
  ::close(fd);
  return bytes;
}

void DiskCache::write(Kind kind, std::string_view key, std::string_view bytes) const {
  if (!valid_key(key)) return;
  if (!write_atomically(path_of(kind, key), bytes)) return;
  if (max_bytes_ > 0) (void)prune(max_bytes_);
}

void DiskCache::remove(Kind kind, std::string_view key) const {
  if (valid_key(key)) (void)::unlink(path_of(kind, key).c_str());
}

void DiskCache::record(bool hit) const {
  FolderLock lock(dir_);
  auto [hits, misses] = read_counts(dir_ + "/stats");
  (hit ? hits : misses) += 1;
  (void)write_atomically(dir_ + "/stats", fmt::format("hits {}\nmisses {}\n", hits, misses));
}

Stats DiskCache::stats() const {
  Stats out;
  for (const EntryInfo &e : list()) {
    ++out.entries;
    out.bytes += e.bytes;
  }
  std::tie(out.hits, out.misses) = read_counts(dir_ + "/stats");
  return out;
}

std::vector<EntryInfo> DiskCache::list() const {
  std::vector<EntryInfo> out;
  for (Kind kind : kAllKinds) {
    std::error_code ec;
    for (const auto &entry :
         fs::directory_iterator(fmt::format("{}/{}", dir_, kind_name(kind)), ec)) {
      const std::string name = entry.path().filename().string();
      struct stat st{};
      if (!valid_key(name) || ::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        continue;
      out.push_back(
          {kind, name, static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
    }
  }
  std::sort(out.begin(), out.end(), [](const EntryInfo &a, const EntryInfo &b) {
    return a.last_used != b.last_used ? a.last_used > b.last_used : a.key < b.key;
  });
  return out;
}

int64_t DiskCache::prune(int64_t max_bytes) const {
  std::vector<EntryInfo> entries = list();
  int64_t total = 0;
  for (const EntryInfo &e : entries) total += e.bytes;
  int64_t removed = 0;
  while (total > max_bytes && !entries.empty()) {  // least recently used is last
    const EntryInfo &e = entries.back();
    remove(e.kind, e.key);
    total -= e.bytes;
    ++removed;
    entries.pop_back();
  }
  return removed;
}

void DiskCache::clear() const {
  for (const EntryInfo &e : list()) remove(e.kind, e.key);
  FolderLock lock(dir_);
  (void)::unlink((dir_ + "/stats").c_str());
}

}  // namespace kiln::cache
