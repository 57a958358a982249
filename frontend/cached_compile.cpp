// The process's disk cache, opened once per folder (KILN_CACHE_DIR and friends, or
// set_cache_dir), and the lookup order: compile key → graph record → artifact bytes →
// deserialize (which checks version, checksum and key) → the caller loads it.
#include "cached_compile.h"

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "cache/disk_cache.h"
#include "cache/graph_record.h"
#include "ir/diag.h"
#include "ir/settings.h"
#include "ir/trace.h"

namespace kiln::detail {
namespace {

struct ProcessCache {
  std::mutex mutex;
  std::string dir;  // what `cache` was opened for
  std::shared_ptr<const cache::DiskCache> cache;
  std::set<std::string> refused;  // folders already warned about
};

ProcessCache &process_cache_state() {
  static auto *state = new ProcessCache;  // never destroyed: compiled functions may outlive statics
  return *state;
}

}  // namespace

// The cache for the current folder setting, or null (off, or refused: said once per folder).
std::shared_ptr<const cache::DiskCache> process_cache() {
  const std::string dir = cache_dir();
  ProcessCache &p = process_cache_state();
  std::lock_guard lock(p.mutex);
  if (dir == p.dir && (p.cache || dir.empty() || p.refused.contains(dir))) return p.cache;
  p.dir = dir;
  p.cache = nullptr;
  if (dir.empty()) return nullptr;
  std::string why;
  p.cache = cache::DiskCache::open(dir, cache_max_bytes(), why);
  if (!p.cache && p.refused.insert(dir).second)
    warn(fmt::format(
        "not using the disk cache: {}; compiling in memory (kiln loads code only from a folder "
        "this user owns and no one else can write: chmod 700 it, or set KILN_CACHE_DIR)",
        why));
  return p.cache;
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
  return "the dynamic shapes' kernel symbols differ from the last compile";
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
  const std::shared_ptr<const cache::DiskCache> c = process_cache();
  CachedCompile out;
  std::string key;
  const std::string versions = lower::versions(target.backend);
  if (c) {
    key = lower::compile_key(g, target, choices, options.kernel_symbols);
    if (!search.empty()) key = lower::content_hash(fmt::format("{} {}", key, search));
    std::string why = "not read (dumping every stage)";
    if (read) {
      std::optional<std::string> ref;
      if (std::optional<std::string> text = c->read(cache::Kind::Graph, key, why)) {
        if (std::optional<cache::GraphRecord> r = cache::GraphRecord::parse(*text)) {
          ref = r->artifact;
        } else {
          c->remove(cache::Kind::Graph, key);
          why = "its graph record was damaged";
        }
      }
      if (ref) {
        if (std::optional<std::string> bytes = c->read(cache::Kind::Artifact, *ref, why)) {
          try {
            out.artifact = lower::deserialize(*bytes);
            if (out.artifact.key != *ref)
              fail("its key {} is not the one recorded for it ({})", out.artifact.key, *ref);
            out.from_cache = true;
            c->record(true);
            log_cache(fn, "hit",
                      fmt::format("artifact {} ({} bytes) from {}", *ref, bytes->size(), c->dir()));
            return out;
          } catch (const Error &e) {
            warn(
                fmt::format("disk cache: entry artifact/{} is damaged ({}); removed, compiling "
                            "again",
                            *ref, e.what()));
            c->remove(cache::Kind::Artifact, *ref);
            why = "its artifact was damaged";
          }
        } else {
          why = fmt::format("its artifact {} is gone ({})", *ref, why);
        }
      } else if (why == "no entry") {
        why = miss_reason(*c, g, target, choices, versions);
      }
      c->record(false);
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
    c->write(cache::Kind::Artifact, out.artifact.key, lower::serialize(out.artifact));
    c->write(cache::Kind::Graph, key, record.text());
    c->write(cache::Kind::Index, lower::graph_text_key(g), index_text(target, choices, versions));
    log_cache(fn, "stored", fmt::format("artifact {} under {}", out.artifact.key, key));
  }
  return out;
}

}  // namespace kiln::detail
