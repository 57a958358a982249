// The process's cache tiers, opened once per setting (KILN_CACHE_DIR and friends or
// set_cache_dir; KILN_CACHE_REMOTE* or set_remote_cache_settings), and the lookup order: compile
// key → graph record → artifact bytes → deserialize (which checks version, checksum and key)
// and the Target → the caller loads it. Each of the two lookups asks the disk, then Redis.
#include "cached_compile.h"

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "cache/graph_record.h"
#include "ir/diag.h"
#include "ir/settings.h"
#include "ir/trace.h"

namespace kiln::detail {
namespace {

struct ProcessCache {
  std::mutex mutex;
  std::string dir;  // what `store` was opened for
  RemoteCacheSettings remote;
  std::shared_ptr<const cache::Store> store;
  std::set<std::string> refused;  // folders and remote URLs already warned about
};

ProcessCache &process_cache_state() {
  static auto *state = new ProcessCache;  // never destroyed: compiled functions may outlive statics
  return *state;
}

// The remote tier for `settings`, or null (off, or refused: said once per URL).
std::shared_ptr<cache::RemoteCache> open_remote(const RemoteCacheSettings &settings,
                                                std::set<std::string> &refused) {
  if (settings.url.empty()) return nullptr;
  std::string why;
  std::shared_ptr<cache::RemoteCache> remote = cache::RemoteCache::open(settings, why);
  if (!remote && refused.insert(settings.url).second)
    warn(fmt::format("not using the remote cache: {}; using the disk cache alone", why));
  return remote;
}

}  // namespace

// The tiers for the current settings, or null (off, or the folder refused: said once).
std::shared_ptr<const cache::Store> process_cache() {
  const std::string dir = cache_dir();
  const RemoteCacheSettings remote = remote_cache_settings();
  ProcessCache &p = process_cache_state();
  std::lock_guard lock(p.mutex);
  if (dir == p.dir && remote == p.remote && (p.store || dir.empty() || p.refused.contains(dir)))
    return p.store;
  p.dir = dir;
  p.remote = remote;
  p.store = nullptr;
  if (dir.empty()) return nullptr;
  std::string why;
  std::shared_ptr<const cache::DiskCache> disk =
      cache::DiskCache::open(dir, cache_max_bytes(), why);
  if (!disk) {
    if (p.refused.insert(dir).second)
      warn(fmt::format(
          "not using the disk cache: {}; compiling in memory (kiln loads code only from a "
          "folder this user owns and no one else can write: chmod 700 it, or set "
          "KILN_CACHE_DIR)",
          why));
    return nullptr;
  }
  p.store = std::make_shared<const cache::Store>(std::move(disk), open_remote(remote, p.refused));
  return p.store;
}

namespace {

// What a graph's index entry records: the settings of its last compile, as three sections
// (versions, target, choices) separated by "--" lines.
std::string index_text(const lower::Target &target, const lower::Choices &choices,
                       const std::string &versions) {
  return fmt::format("{}\n--\n{}--\n{}", versions, target.text(), choices.text());
}

std::vector<std::string> sections(const std::string &text) {
  std::vector<std::string> out(1);
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = std::min(text.find('\n', at), text.size());
    const std::string line = text.substr(at, nl - at);
    if (line == "--")
      out.emplace_back();
    else
      out.back() += line + "\n";
    at = nl + 1;
  }
  return out;
}

// Why a compile key had no record, in words: comparing with the graph's last compile.
std::string miss_reason(const cache::DiskCache &c, const ir::Graph &g, const lower::Target &target,
                        const lower::Choices &choices, const std::string &versions) {
  std::string why;
  const std::optional<std::string> last = c.read(cache::Kind::Index, lower::graph_text_key(g), why);
  if (!last) return "this graph was not compiled before";
  const std::vector<std::string> was = sections(*last),
                                 now = sections(index_text(target, choices, versions));
  if (was.size() != 3 || was[0] != now[0])
    return "kiln or LLVM version differs from the last compile";
  if (was[1] != now[1]) return "target differs from the last compile";
  if (was[2] != now[2]) return "choices differ from the last compile";
  return "the dynamic shapes' symbolic kernels differ from the last compile";
}

// KILN_LOGS=cache's line "fn: outcome: detail", and the trace's "cache" event.
void log_cache(const std::string &fn, std::string_view outcome, const std::string &detail) {
  if (log_enabled(LogTopic::Cache))
    log_line(LogTopic::Cache, fmt::format("{}: {}: {}", fn, outcome, detail));
  trace::event("cache", {{"function", fn}, {"outcome", outcome}, {"detail", detail}});
}

}  // namespace

CachedCompile compile_cached(const std::string &fn, const ir::Graph &g, const lower::Target &target,
                             const lower::Choices &choices,
                             const lower::CompileGraphOptions &options, bool read,
                             const std::function<lower::Choices()> &tune, std::string_view search) {
  const std::shared_ptr<const cache::Store> c = process_cache();
  CachedCompile out;
  std::string key;
  const std::string versions = lower::versions(target.backend);
  if (c) {
    key = lower::compile_key(g, target, choices, options);
    if (!search.empty()) key = lower::content_hash(fmt::format("{} {}", key, search));
    std::string why = "not read (dumping every stage)";
    if (read) {
      std::optional<cache::GraphRecord> record;
      const auto record_check = [&](std::string_view text) -> std::string {
        record = cache::GraphRecord::parse(text);
        return record ? "" : "not a graph record";
      };
      const auto artifact_check = [&](std::string_view bytes) {
        return cache::check_entry(cache::Kind::Artifact, record->artifact, bytes, &out.artifact);
      };
      if (c->read(cache::Kind::Graph, key, why, record_check)) {
        std::optional<cache::Found> found =
            c->read(cache::Kind::Artifact, record->artifact, why, artifact_check);
        if (found && out.artifact.target != target) {
          // A good artifact for another machine: the record that led here is what is wrong.
          warn(fmt::format(
              "cache: graph record {} leads to artifact {}, made for another target ({}); the "
              "record is removed from every tier, compiling again",
              key, record->artifact, out.artifact.target.str()));
          c->remove(cache::Kind::Graph, key);
          found.reset();
          why = "its graph record led to another target's artifact";
        } else if (found) {
          out.from_cache = true;
          out.from_remote = found->tier == cache::Tier::Remote;
          out.loaded_from = c->tier_name(found->tier);
          c->record(true, found->tier == cache::Tier::Remote);
          log_cache(
              fn, "hit",
              fmt::format("artifact {} ({} bytes) from {}", record->artifact, found->bytes.size(),
                          found->tier == cache::Tier::Disk ? c->disk().dir() : out.loaded_from));
          return out;
        } else {
          why = fmt::format("its artifact {} is gone ({})", record->artifact, why);
        }
      } else if (why == "no entry") {
        why = miss_reason(c->disk(), g, target, choices, versions);
      }
      c->record(false, c->remote() != nullptr);
    }
    log_cache(fn, "miss", why);
  }
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  cache::GraphRecord record;
  auto t0 = Clock::now();
  const lower::Choices chosen = tune ? tune() : choices;
  record.search_ms = tune ? ms_since(t0) : 0.0;
  t0 = Clock::now();
  out.compiled = lower::compile_graph(g, target, chosen, options);
  record.compile_ms = ms_since(t0);
  out.artifact = out.compiled->artifact;
  record.artifact = out.artifact.key;
  if (c && out.artifact.has_code()) {
    // The artifact first: a reader who finds the graph record finds what it names (a record
    // whose artifact Redis refused stays on this machine).
    const bool shared =
        c->write(cache::Kind::Artifact, out.artifact.key, lower::serialize(out.artifact));
    c->write(cache::Kind::Graph, key, record.text(), /*publish=*/shared);
    c->write(cache::Kind::Index, lower::graph_text_key(g), index_text(target, choices, versions),
             /*publish=*/false);  // this machine's history, for its own miss reasons
    log_cache(fn, "stored", fmt::format("artifact {} under {}", out.artifact.key, key));
  }
  return out;
}

}  // namespace kiln::detail
