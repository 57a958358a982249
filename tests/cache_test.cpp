// The disk cache (cache/disk_cache.h) and compile() through it (frontend/cached_compile.cpp):
// a second compile of the same graph (here and in a second process) loads the artifact
// instead of compiling; damaged, truncated and foreign entries are removed and compiled
// again; folders and files another user owns or others can write are refused; two writers
// of one key leave a whole entry; the size limit evicts the least recently used;
// kiln-cache verify tells a good cache from a damaged one.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cache/disk_cache.h"
#include "check.h"
#include "ir/settings.h"
#include "log_capture.h"
#include "lowering/backend.h"

namespace kiln::test {
namespace {

namespace fs = std::filesystem;

// A fresh folder for one test, removed after it; the process's cache points at it while
// the test runs (main() turns the cache off for every other test).
struct TempCache {
  fs::path dir;
  explicit TempCache(std::string_view name) {
    dir = fs::temp_directory_path() / fmt::format("kiln_cache_{}_{}", name, getpid());
    fs::remove_all(dir);
    set_cache_dir(dir.string());
  }
  ~TempCache() {
    set_cache_dir("");
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  [[nodiscard]] fs::path entry(std::string_view kind, std::string_view key) const {
    return dir / "v1" / kind / key;
  }
  [[nodiscard]] std::vector<fs::path> entries(std::string_view kind) const {
    std::vector<fs::path> out;
    for (const auto &e : fs::directory_iterator(dir / "v1" / kind))
      if (e.path().filename().string()[0] != '.') out.push_back(e.path());
    return out;
  }
  [[nodiscard]] std::vector<fs::path> artifacts() const { return entries("artifact"); }
};

Tensor model(Tensor x, Tensor w) { return layer_norm(gelu(matmul(x, w)), {48}) * 2.0; }

std::string origin_of(const auto &f, const Tensor &x, const Tensor &w) {
  return explain(f, x, w).entries.at(0).origin;
}

void spit(const fs::path &p, std::string_view bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST_SUITE("cache" * doctest::skip(!lower::backend(lower::BackendKind::Cpu).available)) {
  TEST_CASE("a second compile of the same graph loads its artifact, and says so") {
    TempCache cache("hit");
    Tensor x = randn({64, 32}), w = randn({32, 48}) * 0.2;
    const Tensor want = model(x, w);
    LogCapture logs("cache");
    auto first = compile(model, {.name = "model"});
    const Tensor compiled = first(x, w);
    KILN_CHECK_CLOSE(compiled, want, {1e-5, 1e-5});
    CHECK(origin_of(first, x, w).starts_with("compiled in "));
    auto second = compile(model, {.name = "model"});
    KILN_CHECK_CLOSE(second(x, w), compiled, {0, 0});  // the same code
    CHECK(origin_of(second, x, w).starts_with("loaded from the disk cache in "));
    const std::vector<std::string> lines = logs.lines();
    REQUIRE(lines.size() >= 3);
    CHECK(lines[0] == "cache: model: miss: this graph was not compiled before");
    CHECK(lines[1].starts_with("cache: model: stored: artifact "));
    CHECK(lines[2].starts_with("cache: model: hit: artifact "));
    // Other choices are another compile, and the log says which setting differed.
    auto tuned = compile(model, {.name = "model", .choices = "kernel.registers_per_value = 1"});
    KILN_CHECK_CLOSE(tuned(x, w), want, {1e-5, 1e-5});
    CHECK(logs.lines().at(3) == "cache: model: miss: choices differ from the last compile");
    const cache::Stats stats = [&] {
      std::string why;
      return cache::DiskCache::open(cache.dir.string(), 0, why)->stats();
    }();
    CHECK(stats.hits >= 1);
    CHECK(stats.misses >= 2);
  }

  TEST_CASE("damaged, truncated and foreign entries are removed and compiled again") {
    TempCache cache("damage");
    Tensor x = randn({64, 32}), w = randn({32, 48}) * 0.2;
    const Tensor want = model(x, w);
    (void)compile(model, {.name = "model"})(x, w);
    REQUIRE(cache.artifacts().size() == 1);
    const fs::path art = cache.artifacts()[0];
    const std::string good = read_bytes(art);
    std::string flipped = good;
    flipped[flipped.size() / 2] ^= 0x10;
    const std::string foreign = "KILNART\n" + std::string(200, 'x');
    for (const std::string &bad :
         {flipped, good.substr(0, good.size() / 3), foreign, std::string()}) {
      spit(art, bad);
      LogCapture logs("cache");
      auto f = compile(model, {.name = "model"});
      KILN_CHECK_CLOSE(f(x, w), want, {1e-5, 1e-5});
      CHECK(origin_of(f, x, w).starts_with("compiled in "));
      bool warned = false;
      for (const std::string &line : logs.lines())
        warned |= line.starts_with("warning: disk cache: entry artifact/") &&
                  line.find("is damaged") != std::string::npos;
      CHECK(warned);
      CHECK(read_bytes(art) == good);  // compiled again and stored again, whole
    }
  }

  TEST_CASE("a second process starts warm") {
    TempCache cache("process");
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    const std::string cmd = fmt::format(
        "KILN_TEST_CACHE_CHILD='{}' '{}' -tc='*cache child*' --no-intro", cache.dir.string(), self);
    const std::string one = run_capture(cmd), two = run_capture(cmd);
    CHECK_MESSAGE(one.find("origin: compiled in ") != std::string::npos, one);
    CHECK_MESSAGE(two.find("origin: loaded from the disk cache in ") != std::string::npos, two);
  }

  TEST_CASE("cache child: compile one function and print where its code came from") {
    const char *dir = std::getenv("KILN_TEST_CACHE_CHILD");
    if (dir == nullptr) return;  // run by "a second process starts warm"
    set_cache_dir(dir);
    Tensor x = randn({64, 32}), w = randn({32, 48}) * 0.2;
    auto f = compile(model, {.name = "model"});
    (void)f(x, w);
    MESSAGE("origin: " << origin_of(f, x, w));
    set_cache_dir("");
  }

  TEST_CASE("a folder or file another user owns or others can write is refused") {
    TempCache cache("trust");
    std::string why;
    REQUIRE(cache::DiskCache::open(cache.dir.string(), 0, why) != nullptr);
    CHECK((fs::status(cache.dir).permissions() & fs::perms::all) == fs::perms::owner_all);

    ::chmod(cache.dir.c_str(), 0770);
    CHECK(cache::DiskCache::open(cache.dir.string(), 0, why) == nullptr);
    CHECK(why == fmt::format("cache folder '{}' is writable by its group (mode 0770)",
                             cache.dir.string()));
    {
      LogCapture logs("");
      Tensor x = randn({8, 8});
      auto f = compile([](Tensor t) { return exp(t) + 1.0; }, {.name = "refused"});
      KILN_CHECK_CLOSE(f(x), exp(x) + 1.0, {1e-6, 1e-6});
      REQUIRE(!logs.lines().empty());
      CHECK(logs.lines()[0].starts_with("warning: not using the disk cache: cache folder"));
    }
    ::chmod(cache.dir.c_str(), 0700);

    if (geteuid() == 0) {  // only root can give a folder away
      REQUIRE(::chown(cache.dir.c_str(), 12345, 12345) == 0);
      CHECK(cache::DiskCache::open(cache.dir.string(), 0, why) == nullptr);
      CHECK(why.find("is owned by user 12345, not by this user (0)") != std::string::npos);
      REQUIRE(::chown(cache.dir.c_str(), 0, 0) == 0);
    }

    auto c = cache::DiskCache::open(cache.dir.string(), 0, why);
    REQUIRE(c != nullptr);
    c->write(cache::Kind::Artifact, "abc123", "bytes");
    CHECK(c->read(cache::Kind::Artifact, "abc123", why) == std::optional<std::string>("bytes"));
    ::chmod(cache.entry("artifact", "abc123").c_str(), 0666);
    CHECK(!c->read(cache::Kind::Artifact, "abc123", why));
    CHECK(why.find("is writable by others (mode 0666)") != std::string::npos);
    CHECK(!fs::exists(cache.entry("artifact", "abc123")));  // refused entries are removed
    fs::create_symlink("/etc/passwd", cache.entry("artifact", "def456"));
    CHECK(!c->read(cache::Kind::Artifact, "def456", why));
    CHECK(!c->read(cache::Kind::Artifact, "../../x", why));
    CHECK(why == "'../../x' is not a cache key");
  }

  TEST_CASE("two processes writing one key at once leave one whole entry") {
    TempCache cache("race");
    std::string why;
    auto c = cache::DiskCache::open(cache.dir.string(), 0, why);
    REQUIRE(c != nullptr);
    const std::string a(300000, 'a'), b(200000, 'b');
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (int i = 0; i < 200; ++i) c->write(cache::Kind::Artifact, "feed", a);
      _exit(0);
    }
    for (int i = 0; i < 200; ++i) {
      c->write(cache::Kind::Artifact, "feed", b);
      const std::optional<std::string> got = c->read(cache::Kind::Artifact, "feed", why);
      REQUIRE(got);
      CHECK((*got == a || *got == b));
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    const std::optional<std::string> last = c->read(cache::Kind::Artifact, "feed", why);
    CHECK((last == a || last == b));
    CHECK(c->list().size() == 1);  // no temporary file is left behind as an entry
  }

  TEST_CASE("the size limit evicts the least recently used entries") {
    TempCache cache("evict");
    std::string why;
    auto c = cache::DiskCache::open(cache.dir.string(), 2500, why);
    REQUIRE(c != nullptr);
    const std::string kb(1000, 'x');
    c->write(cache::Kind::Artifact, "aa", kb);
    c->write(cache::Kind::Artifact, "bb", kb);
    // "aa" was used last: make that visible to the second-resolution times.
    fs::last_write_time(cache.entry("artifact", "bb"),
                        fs::last_write_time(cache.entry("artifact", "bb")) - std::chrono::hours(1));
    c->write(cache::Kind::Artifact, "cc", kb);
    CHECK(fs::exists(cache.entry("artifact", "aa")));
    CHECK(!fs::exists(cache.entry("artifact", "bb")));
    CHECK(fs::exists(cache.entry("artifact", "cc")));
    CHECK(c->stats().bytes <= 2500);
    CHECK(c->prune(0) == 2);
    CHECK(c->stats().entries == 0);
  }

  TEST_CASE("kiln-cache verify passes a good cache and fails a damaged one") {
    TempCache cache("verify");
    Tensor x = randn({64, 32}), w = randn({32, 48}) * 0.2;
    (void)compile(model, {.name = "model"})(x, w);
    const std::string tool =
        fmt::format("'{}' --cache-dir='{}'", KILN_CACHE_PATH, cache.dir.string());
    int status = -1;
    std::string out = run_capture(tool + " verify", &status);
    CHECK_MESSAGE(status == 0, out);
    CHECK(out.find("1 artifact(s) and 1 graph record(s) good, 0 damaged") != std::string::npos);
    out = run_capture(tool + " stats", &status);
    CHECK(status == 0);
    CHECK(out.find("entries: 3") != std::string::npos);  // artifact, graph record, index
    const fs::path art = cache.artifacts().at(0);
    out = run_capture(tool + " show " + art.filename().string(), &status);
    CHECK(status == 0);
    CHECK(out.find("artifact @model") != std::string::npos);
    CHECK_MESSAGE(out.find("  compile time saved per warm start: ") != std::string::npos, out);
    const fs::path graph = cache.entries("graph").at(0);
    out = run_capture(tool + " show " + graph.filename().string(), &status);
    CHECK(status == 0);
    CHECK_MESSAGE(out.starts_with(fmt::format("graph record {}\n  artifact: {}\n  compile: ",
                                              graph.filename().string(), art.filename().string())),
                  out);
    out = run_capture(tool + " show 0123", &status);
    CHECK(status == 3);
    CHECK(out.find("kiln-cache: no entry '0123' (`kiln-cache list` shows the keys)") !=
          std::string::npos);
    out = run_capture(tool + " show XY", &status);
    CHECK(status == 3);
    CHECK(out.find("kiln-cache: no entry 'XY': 'XY' is not a cache key") != std::string::npos);
    // A damaged graph record: verify names it, show says so.
    const std::string record = read_bytes(graph);
    spit(graph, "not a key\n");
    out = run_capture(tool + " verify", &status);
    CHECK(status == 1);
    CHECK_MESSAGE(out.find(fmt::format("damaged: graph {}: not a graph record\n",
                                       graph.filename().string())) != std::string::npos,
                  out);
    CHECK(out.find("1 artifact(s) and 0 graph record(s) good, 1 damaged") != std::string::npos);
    out = run_capture(tool + " show " + graph.filename().string(), &status);
    CHECK(status == 3);
    CHECK(out.find(fmt::format("kiln-cache: graph record '{}' is damaged",
                               graph.filename().string())) != std::string::npos);
    spit(graph, record);
    std::string bytes = read_bytes(art);
    bytes[bytes.size() - 3] ^= 1;
    spit(art, bytes);
    out = run_capture(tool + " verify", &status);
    CHECK_MESSAGE(status == 1, out);
    CHECK(out.find("damaged: artifact " + art.filename().string()) != std::string::npos);
    out = run_capture(tool + " clear", &status);
    CHECK(status == 0);
    CHECK(run_capture(tool + " stats").find("entries: 0") != std::string::npos);
    CHECK(run_capture(tool + " nonsense", &status).find("unknown command") != std::string::npos);
    CHECK(status == 2);
  }
}

}  // namespace kiln::test
