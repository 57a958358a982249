// kiln-cache: look after the disk cache of compiled artifacts (cache/disk_cache.h) from the
// command line: what it holds, one entry in words, a check of every entry, clearing and
// pruning. Exit codes are tools/cli.h's; `verify` exits 1 when an entry is damaged.
#include <fmt/format.h>

#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "cache/disk_cache.h"
#include "cache/graph_record.h"
#include "ir/diag.h"
#include "ir/settings.h"
#include "lowering/artifact.h"
#include "tools/cli.h"

namespace {

namespace cli = kiln::cli;
using kiln::cache::DiskCache;
using kiln::cache::GraphRecord;
using kiln::cache::Kind;

struct Options {
  std::string dir;                 // "": the folder compile() uses
  std::vector<std::string> words;  // the command and its argument
  int64_t max_mb = -1;
};

cli::Parser make_parser(Options &o) {
  cli::Parser p(
      "kiln-cache", "kiln-cache [options] stats|list|show KEY|verify|clear|prune",
      "Looks after kiln's disk cache of compiled artifacts: the folder compile() uses\n"
      "(KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln) or --cache-dir.\n"
      "  stats       entries, bytes, and the hits and misses processes recorded\n"
      "  list        every entry, most recently used first\n"
      "  show KEY    an entry in words: an artifact's target, choices, kernel IR and the\n"
      "              compile time a warm start saves; a tuning entry's measured table\n"
      "  verify      reads every artifact (version, checksum, key) and graph record back;\n"
      "              exit 1 on a bad one\n"
      "  clear       removes every entry\n"
      "  prune       removes least recently used entries down to --max-mb");
  p.option("--cache-dir", "DIR", "the cache folder (default: compile()'s)",
           [&o](std::string_view v) { o.dir = v; });
  p.option("--max-mb", "N", "prune: the size to prune down to, in MiB", [&o](std::string_view v) {
    o.max_mb = cli::parse_integer<int64_t>(v, 0, int64_t{1} << 30);
  });
  p.positionals([&o](std::string_view v) { o.words.emplace_back(v); });
  p.exit_codes({{cli::kExitOk, "success"},
                {cli::kExitCheckFailed, "verify: an entry is damaged (it is named)"},
                {cli::kExitUsage, "usage error: unknown command or option, missing argument"},
                {cli::kExitBadInput,
                 "the folder cannot be used (owned by another user, writable\n"
                 "by others) or KEY names no entry"},
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

int run(const Options &o) {
  if (o.words.empty())
    cli::usage_error("expected a command: stats, list, show KEY, verify, clear or prune");
  const std::string &command = o.words[0];
  const size_t want = command == "show" ? 2 : 1;
  if (o.words.size() != want)
    cli::usage_error("{}: expected {}", command, want == 2 ? "one KEY" : "no argument");
  const std::string dir = o.dir.empty() ? kiln::cache_dir() : o.dir;
  if (dir.empty())
    kiln::fail("kiln-cache: the disk cache is off (KILN_CACHE=off) and no --cache-dir is given");
  std::string why;
  const std::unique_ptr<DiskCache> cache = DiskCache::open(dir, 0, why);
  if (!cache) kiln::fail("kiln-cache: {}", why);
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
      try {
        const std::optional<std::string> bytes = cache->read(e.kind, e.key, why, false);
        if (!bytes) kiln::fail("{}", why);
        if (e.kind == Kind::Graph) {
          if (!GraphRecord::parse(*bytes)) kiln::fail("not a graph record");
          ++good_records;
          continue;
        }
        if (kiln::lower::deserialize(*bytes).key != e.key)
          kiln::fail("its content's key is not its name");
        ++good;
      } catch (const kiln::Error &err) {
        ++bad;
        std::cout << fmt::format("damaged: {} {}: {}\n", kind_name(e.kind), e.key, err.what());
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
    cli::usage_error("unknown command '{}': expected stats, list, show, verify, clear or prune",
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
