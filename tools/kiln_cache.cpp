// kiln-cache: look after the disk cache of compiled artifacts (cache/disk_cache.h) from the
// command line: what it holds, one entry in words, a check of every entry, clearing and
// pruning; and the shared Redis tier (cache/remote_cache.h): what it holds, publishing the
// disk cache's entries to it and pulling one from it. Exit codes are tools/cli.h's; `verify`
// exits 1 when an entry is damaged.
#include <fmt/format.h>

#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "cache/disk_cache.h"
#include "cache/graph_record.h"
#include "cache/remote_cache.h"
#include "cache/store.h"
#include "ir/diag.h"
#include "ir/settings.h"
#include "lowering/artifact.h"
#include "tools/cli.h"

namespace {

namespace cli = kiln::cli;
using kiln::cache::DiskCache;
using kiln::cache::GraphRecord;
using kiln::cache::Kind;
using kiln::cache::RemoteCache;

struct Options {
  std::string dir;                 // "": the folder compile() uses
  std::vector<std::string> words;  // the command and its argument
  int64_t max_mb = -1;
  bool remote = false;     // stats, list: of the Redis tier
  std::string remote_url;  // "": KILN_CACHE_REMOTE
};

cli::Parser make_parser(Options &o) {
  cli::Parser p(
      "kiln-cache", "kiln-cache [options] stats|list|show KEY|verify|clear|prune|push|pull KEY",
      "Looks after kiln's disk cache of compiled artifacts: the folder compile() uses\n"
      "(KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln) or --cache-dir.\n"
      "  stats       entries, bytes, and the hits and misses processes recorded\n"
      "  list        every entry, most recently used first\n"
      "  show KEY    an entry in words: an artifact's target, choices, kernel IR and the\n"
      "              compile time a warm start saves; a tuning entry's measured table\n"
      "  verify      reads every artifact (version, checksum, key) and graph record back;\n"
      "              exit 1 on a bad one\n"
      "  clear       removes every entry\n"
      "  prune       removes least recently used entries down to --max-mb\n"
      "The shared Redis tier (KILN_CACHE_REMOTE=redis://host:port/db, or --remote-url):\n"
      "  stats --remote, list --remote   the same, of the entries in Redis (list: with the\n"
      "              seconds each has left)\n"
      "  push        publishes the disk cache's artifacts, graph records and tuning entries\n"
      "              (each checked first; an entry already in Redis is left as it is)\n"
      "  pull KEY    copies an entry from Redis to the disk cache, checked as compile()\n"
      "              checks it (a graph record brings its artifact)");
  p.option("--cache-dir", "DIR", "the cache folder (default: compile()'s)",
           [&o](std::string_view v) { o.dir = v; });
  p.option("--max-mb", "N", "prune: the size to prune down to, in MiB", [&o](std::string_view v) {
    o.max_mb = cli::parse_integer<int64_t>(v, 0, int64_t{1} << 30);
  });
  p.flag("--remote", "stats, list: of the shared Redis tier, not the disk", o.remote);
  p.option("--remote-url", "URL", "the Redis tier (default: KILN_CACHE_REMOTE)",
           [&o](std::string_view v) { o.remote_url = v; });
  p.positionals([&o](std::string_view v) { o.words.emplace_back(v); });
  p.exit_codes({{cli::kExitOk, "success"},
                {cli::kExitCheckFailed, "verify: an entry is damaged (it is named)"},
                {cli::kExitUsage, "usage error: unknown command or option, missing argument"},
                {cli::kExitBadInput,
                 "the folder cannot be used (owned by another user, writable\n"
                 "by others), KEY names no entry, or Redis cannot be reached"},
                {cli::kExitInternal, "internal error (a bug in kiln) or out of memory"}});
  return p;
}

std::string when(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return text;
}

// The graph records that lead to `artifact`: what compiling it cost, so what a warm start
// that loads it saves.
std::string time_saved(const DiskCache &cache, const std::string &artifact) {
  std::string out;
  std::string why;
  for (const kiln::cache::EntryInfo &e : cache.list()) {
    if (e.kind != Kind::Graph) continue;
    const std::optional<std::string> text = cache.read(Kind::Graph, e.key, why, false);
    const std::optional<GraphRecord> r = text ? GraphRecord::parse(*text) : std::nullopt;
    if (!r || r->artifact != artifact) continue;
    out += fmt::format(
        "  compile time saved per warm start: {:.1f} ms{} (graph record {})\n",
        r->compile_ms + r->search_ms,
        r->search_ms > 0 ? fmt::format(", {:.1f} ms of it the autotune search", r->search_ms) : "",
        e.key);
  }
  return out;
}

// One entry in words, whatever its kind.
void show(const DiskCache &cache, const std::string &key) {
  std::string why;
  if (const std::optional<std::string> bytes = cache.read(Kind::Artifact, key, why, false)) {
    const kiln::lower::Artifact a = kiln::lower::deserialize(*bytes);
    std::cout << kiln::lower::describe(a) << time_saved(cache, a.key) << "every choice:\n"
              << a.choices.text();
    return;
  }
  if (const std::optional<std::string> text = cache.read(Kind::Tuning, key, why, false)) {
    std::cout << fmt::format("tuning {} (the chosen knobs, then every variant measured):\n{}", key,
                             *text);
    return;
  }
  if (const std::optional<std::string> text = cache.read(Kind::Graph, key, why, false)) {
    const std::optional<GraphRecord> r = GraphRecord::parse(*text);
    if (!r) kiln::fail("kiln-cache: graph record '{}' is damaged", key);
    std::cout << fmt::format(
        "graph record {}\n  artifact: {}\n  compile: {:.1f} ms\n  autotune search: {:.1f} ms\n",
        key, r->artifact, r->compile_ms, r->search_ms);
    return;
  }
  if (const std::optional<std::string> text = cache.read(Kind::Index, key, why, false)) {
    std::cout << fmt::format("index {} (the graph's last compile settings):\n{}", key, *text);
    return;
  }
  kiln::fail("kiln-cache: no entry '{}'{} (`kiln-cache list` shows the keys)", key,
             why == "no entry" ? "" : ": " + why);
}

std::unique_ptr<RemoteCache> open_remote(const Options &o) {
  kiln::RemoteCacheSettings settings = kiln::remote_cache_settings();
  if (!o.remote_url.empty()) settings.url = o.remote_url;
  if (settings.url.empty())
    kiln::fail(
        "kiln-cache: no remote tier is named: set KILN_CACHE_REMOTE=redis://host:port/db or "
        "pass --remote-url");
  std::string why;
  std::unique_ptr<RemoteCache> remote = RemoteCache::open(settings, why);
  if (!remote) kiln::fail("kiln-cache: {}", why);
  return remote;
}

// stats, list (--remote), push and pull.
void run_remote(const Options &o, const std::string &command, const DiskCache &cache) {
  const std::unique_ptr<RemoteCache> remote = open_remote(o);
  std::string why;
  auto reachable = [&] {
    if (!why.empty() && why != "no entry") kiln::fail("kiln-cache: {}: {}", remote->url(), why);
  };
  if (command == "stats") {
    const kiln::cache::RemoteStats s = remote->stats(why);
    reachable();
    std::cout << fmt::format(
        "remote: {}\nentries: {}\nbytes: {} ({:.1f} MiB)\nhits: {}\nmisses: {}\n", remote->url(),
        s.entries, s.bytes, s.bytes / 1048576.0, s.hits, s.misses);
  } else if (command == "list") {
    const std::vector<kiln::cache::RemoteEntry> entries = remote->list(why);
    reachable();
    for (const kiln::cache::RemoteEntry &e : entries)
      std::cout << fmt::format("{:<8} {}  {:>10} bytes  {}\n", kind_name(e.kind), e.key, e.bytes,
                               e.ttl_s < 0 ? "no expiry" : fmt::format("expires in {} s", e.ttl_s));
  } else if (command == "push") {
    const kiln::cache::PushResult r = kiln::cache::push(cache, *remote);
    for (const std::string &line : r.not_pushed) std::cout << "not pushed: " << line << "\n";
    why = r.fault;
    reachable();
    std::cout << fmt::format("published {} entries to {}; {} were there already, {} not pushed\n",
                             r.published, remote->url(), r.already_there, r.not_pushed.size());
  } else {  // pull KEY
    const std::string &key = o.words[1];
    if (!kiln::cache::valid_key(key)) kiln::fail("kiln-cache: '{}' is not a cache key", key);
    auto pull = [&](Kind kind, const std::string &k) -> std::optional<std::string> {
      why.clear();
      std::optional<std::string> bytes = remote->read(kind, k, why);
      if (!bytes) return std::nullopt;
      if (const std::string bad = kiln::cache::check_entry(kind, k, *bytes); !bad.empty())
        kiln::fail("kiln-cache: {} {} in {} is damaged ({}); not pulled", kind_name(kind), k,
                   remote->url(), bad);
      cache.write(kind, k, *bytes);
      std::cout << fmt::format("pulled {} {} ({} bytes)\n", kind_name(kind), k, bytes->size());
      return bytes;
    };
    for (Kind kind : {Kind::Artifact, Kind::Graph, Kind::Tuning}) {
      const std::optional<std::string> bytes = pull(kind, key);
      reachable();
      if (!bytes) continue;
      if (kind == Kind::Graph) {
        const std::string artifact = GraphRecord::parse(*bytes)->artifact;
        if (!pull(Kind::Artifact, artifact)) {
          reachable();
          kiln::fail("kiln-cache: graph record {} names artifact {}, which {} does not hold", key,
                     artifact, remote->url());
        }
      }
      return;
    }
    kiln::fail("kiln-cache: no entry '{}' in {}", key, remote->url());
  }
}

int run(const Options &o) {
  if (o.words.empty())
    cli::usage_error(
        "expected a command: stats, list, show KEY, verify, clear, prune, push or pull KEY");
  const std::string &command = o.words[0];
  const size_t want = command == "show" || command == "pull" ? 2 : 1;
  if (o.words.size() != want)
    cli::usage_error("{}: expected {}", command, want == 2 ? "one KEY" : "no argument");
  const std::string dir = o.dir.empty() ? kiln::cache_dir() : o.dir;
  if (dir.empty())
    kiln::fail("kiln-cache: the disk cache is off (KILN_CACHE=off) and no --cache-dir is given");
  std::string why;
  const std::unique_ptr<DiskCache> cache = DiskCache::open(dir, 0, why);
  if (!cache) kiln::fail("kiln-cache: {}", why);
  if ((o.remote && (command == "stats" || command == "list")) || command == "push" ||
      command == "pull") {
    run_remote(o, command, *cache);
    return 0;
  }
  if (o.remote) cli::usage_error("--remote goes with stats or list (push and pull need no flag)");
  if (command == "stats") {
    const kiln::cache::Stats s = cache->stats();
    std::cout << fmt::format(
        "folder: {}\nentries: {}\nbytes: {} ({:.1f} MiB)\nhits: {}\nmisses: {}\n", cache->dir(),
        s.entries, s.bytes, s.bytes / 1048576.0, s.hits, s.misses);
  } else if (command == "list") {
    for (const kiln::cache::EntryInfo &e : cache->list())
      std::cout << fmt::format("{:<8} {}  {:>10} bytes  used {}\n", kind_name(e.kind), e.key,
                               e.bytes, when(e.last_used));
  } else if (command == "show") {
    show(*cache, o.words[1]);
  } else if (command == "verify") {
    int bad = 0, good = 0, good_records = 0;
    for (const kiln::cache::EntryInfo &e : cache->list()) {
      if (e.kind != Kind::Artifact && e.kind != Kind::Graph) continue;
      const std::optional<std::string> bytes = cache->read(e.kind, e.key, why, false);
      const std::string damage = bytes ? kiln::cache::check_entry(e.kind, e.key, *bytes) : why;
      if (!damage.empty()) {
        ++bad;
        std::cout << fmt::format("damaged: {} {}: {}\n", kind_name(e.kind), e.key, damage);
      } else {
        ++(e.kind == Kind::Graph ? good_records : good);
      }
    }
    std::cout << fmt::format("{} artifact(s) and {} graph record(s) good, {} damaged\n", good,
                             good_records, bad);
    if (bad > 0)
      throw cli::CheckFailed(
          "kiln-cache: damaged entries (compile() removes each when it meets it; `kiln-cache "
          "clear` removes all)");
  } else if (command == "clear") {
    const int64_t n = static_cast<int64_t>(cache->list().size());
    cache->clear();
    std::cout << fmt::format("removed {} entries from {}\n", n, cache->dir());
  } else if (command == "prune") {
    if (o.max_mb < 0) cli::usage_error("prune: expected --max-mb=N");
    std::cout << fmt::format("removed {} entries\n", cache->prune(o.max_mb << 20));
  } else {
    cli::usage_error(
        "unknown command '{}': expected stats, list, show, verify, clear, prune, push or pull",
        command);
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  Options o;
  cli::Parser parser = make_parser(o);
  parser.parse(argc, argv);
  return cli::run_main(parser, [&] { return run(o); });
}
