// The shared Redis tier (cache/remote_cache.h, cache/store.h) against a real redis-server that
// each test starts on a free loopback port and stops after it: a second machine (a second
// process with its own disk cache) starts warm from Redis without generating code or
// measuring; a killed, paused, garbage-holding or badly signed Redis, and a value of another
// Target under the right key, each end in a warning and a local compile with the right
// answer; eight processes publishing and reading the same keys at once leave good entries;
// kiln-cache's --remote views, push and pull.
#include "cache/remote_cache.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "check.h"
#include "ir/settings.h"
#include "log_capture.h"
#include "lowering/artifact.h"
#include "lowering/backend.h"

namespace kiln::test {
namespace {

namespace fs = std::filesystem;

// A port nobody listens on now (the kernel's choice for an ephemeral bind).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A real redis-server on 127.0.0.1 for one test, in a temporary folder, persisting nothing.
class RedisServer {
 public:
  RedisServer() {
    // A free port can be taken between choosing it and redis-server binding it: try again.
    for (int attempt = 0; attempt < 5 && pid_ < 0; ++attempt) start();
    REQUIRE_MESSAGE(
        pid_ > 0, "redis-server did not start (tools/setup.sh installs the redis-server package)");
  }
  ~RedisServer() {
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  RedisServer(const RedisServer &) = delete;
  RedisServer &operator=(const RedisServer &) = delete;

  [[nodiscard]] std::string url() const { return fmt::format("redis://127.0.0.1:{}/0", port_); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    (void)waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void pause() const { ::kill(pid_, SIGSTOP); }
  void start() {
    port_ = free_port();
    dir_ = fs::temp_directory_path() / fmt::format("kiln_redis_{}_{}", getpid(), port_);
    fs::create_directories(dir_);
    const std::string port = std::to_string(port_), dir = dir_.string(),
                      log = (dir_ / "redis.log").string();
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", dir.c_str(), "--logfile", log.c_str(),
             static_cast<char *>(nullptr));
      _exit(127);
    }
    int status = 0;
    for (int i = 0; i < 500 && !accepts_connections(port_); ++i) {
      if (waitpid(pid, &status, WNOHANG) == pid) return;  // exited: no binary, or port taken
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // Listening, and it is this server that listens (it is still running).
    if (waitpid(pid, &status, WNOHANG) == 0 && accepts_connections(port_)) pid_ = pid;
  }
  void resume() const { ::kill(pid_, SIGCONT); }
  // redis-cli against this server; `input`, when given, is the last argument (binary-safe).
  std::string cli(const std::string &args, const std::string *input = nullptr) const {
    std::string cmd = fmt::format("redis-cli -p {} {}", port_, args);
    if (input != nullptr) {
      const fs::path file = dir_ / "input";
      std::ofstream(file, std::ios::binary | std::ios::trunc) << *input;
      cmd = fmt::format("redis-cli -p {} -x {} < '{}'", port_, args, file.string());
    }
    return run_capture(cmd);
  }

 private:
  int port_ = 0;
  fs::path dir_;
  pid_t pid_ = -1;
};

// A disk cache folder and a remote tier for this process while alive (main() turns both
// off for every other test).
struct Tiers {
  fs::path dir;
  Tiers(std::string_view name, const RedisServer &redis, std::string sign_key = "",
        int retry_after_s = 30) {
    dir = fs::temp_directory_path() / fmt::format("kiln_remote_{}_{}", name, getpid());
    fs::remove_all(dir);
    set_cache_dir(dir.string());
    RemoteCacheSettings s;
    s.url = redis.url();
    s.sign_key = std::move(sign_key);
    s.retry_after_s = retry_after_s;
    set_remote_cache_settings(s);
  }
  ~Tiers() {
    set_cache_dir("");
    set_remote_cache_settings({});
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// The remote tier as a tool sees it, to read what compile() published.
std::unique_ptr<cache::RemoteCache> open_remote(const RedisServer &redis,
                                                std::string sign_key = "") {
  RemoteCacheSettings s;
  s.url = redis.url();
  s.sign_key = std::move(sign_key);
  std::string why;
  std::unique_ptr<cache::RemoteCache> r = cache::RemoteCache::open(s, why);
  REQUIRE_MESSAGE(r != nullptr, why);
  return r;
}

std::vector<std::string> remote_keys(cache::RemoteCache &remote, cache::Kind kind) {
  std::string why;
  std::vector<std::string> out;
  for (const cache::RemoteEntry &e : remote.list(why))
    if (e.kind == kind) out.push_back(e.key);
  CHECK_MESSAGE(why.empty(), why);
  return out;
}

Tensor model(Tensor x, Tensor w) { return layer_norm(gelu(matmul(x, w)), {48}) * 2.0; }
Tensor other_model(Tensor x, Tensor w) { return softmax(matmul(x, w), -1); }

std::string origin_of(const auto &f, const Tensor &x, const Tensor &w) {
  return explain(f, x, w).entries.at(0).origin;
}

std::vector<std::string> warnings(LogCapture &logs) {
  std::vector<std::string> out;
  for (const std::string &line : logs.lines())
    if (line.starts_with("warning: ")) out.push_back(line);
  return out;
}

std::string joined(const std::vector<std::string> &lines) {
  std::string out;
  for (const std::string &l : lines) out += l + "\n";
  return out;
}

// Runs this test binary's "remote child" case in a new process: its own disk cache `dir`,
// the shared Redis at `url`; `tune`: the MLP is autotuned (default search).
std::string child_command(const std::string &url, const fs::path &dir, bool tune) {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  return fmt::format(
      "KILN_TEST_REMOTE_CHILD=1 KILN_CACHE_REMOTE='{}' KILN_CACHE_DIR='{}' KILN_TEST_TUNE={} "
      "KILN_LOGS=cache,autotune '{}' -tc='*remote child*' --no-intro",
      url, dir.string(), tune ? 1 : 0, self);
}

int count(const std::string &text, std::string_view what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The "sums:" line a child prints: every output's values, summed in f64, exactly.
std::string sums_line(const std::string &out) {
  const size_t at = out.find("sums: ");
  return at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
}

// Tests that need a Redis server and the remote tier (built when hiredis and libcrypto were
// found; tools/setup.sh installs them and redis-server).
doctest::skip needs_redis() {
  return doctest::skip(!lower::backend(lower::BackendKind::Cpu).available ||
                       !cache::remote_cache_built());
}

}  // namespace

TEST_SUITE("remote") {
  TEST_CASE("remote cache URLs are parsed, or refused in words") {
    std::string why;
    const std::optional<cache::RemoteAddress> a = cache::parse_remote_url("redis://cache.lan", why);
    REQUIRE(a.has_value());
    CHECK(a->url() == "redis://cache.lan:6379/0");
    CHECK(cache::parse_remote_url("redis://10.0.0.7:7000/3", why)->url() ==
          "redis://10.0.0.7:7000/3");
    CHECK(!cache::parse_remote_url("http://x:1", why));
    CHECK(why == "KILN_CACHE_REMOTE: not a redis:// URL; expected redis://host[:port][/db]");
    CHECK(!cache::parse_remote_url("redis://:secret@x:1", why));
    CHECK(why.find("set KILN_CACHE_REMOTE_PASSWORD instead") != std::string::npos);
    CHECK(why.find("secret") == std::string::npos);  // a password is never printed
    CHECK(!cache::parse_remote_url("redis://x:99999", why));
    CHECK(why ==
          "KILN_CACHE_REMOTE: the port after ':' is not a number from 1 to 65535; expected "
          "redis://host[:port][/db]");
    CHECK(!cache::parse_remote_url("redis://user:secret/0", why));  // the text is not echoed
    CHECK(why.find("secret") == std::string::npos);
    CHECK(!cache::parse_remote_url("redis://x:1/0?password=secret", why));
    CHECK(why.find("secret") == std::string::npos);
    CHECK(!cache::parse_remote_url("redis://x:1/db", why));
    CHECK(!cache::parse_remote_url("redis://:1", why));
    CHECK(why.find("no host") != std::string::npos);
  }

  TEST_CASE("a kiln without the remote tier says so, and the disk cache works alone" *
            doctest::skip(cache::remote_cache_built())) {
    RemoteCacheSettings s;
    s.url = "redis://127.0.0.1:1";
    std::string why;
    CHECK(cache::RemoteCache::open(s, why) == nullptr);
    CHECK(why.find("built without the remote cache tier") != std::string::npos);
  }

  TEST_CASE("a second machine starts warm from Redis: no code generation, no measuring" *
            needs_redis()) {
    RedisServer redis;
    const fs::path base = fs::temp_directory_path() / fmt::format("kiln_remote_two_{}", getpid());
    fs::remove_all(base);
    const std::string one = run_capture(child_command(redis.url(), base / "one", true));
    const std::string two = run_capture(child_command(redis.url(), base / "two", true));
    fs::remove_all(base);
    // The first machine compiles both functions, searches the MLP's GEMMs and publishes.
    CHECK_MESSAGE(count(one, "origin: compiled in ") == 2, one);
    CHECK_MESSAGE(one.find("[kiln:autotune] mlp:") != std::string::npos, one);
    CHECK_MESSAGE(count(one, "[kiln:cache] remote: published artifact/") >= 2, one);
    // The second loads both from Redis: nothing compiled, nothing measured, nothing published.
    CHECK_MESSAGE(count(two, "origin: loaded from Redis at " + redis.url()) == 2, two);
    CHECK_MESSAGE(two.find("compiled in") == std::string::npos, two);
    CHECK_MESSAGE(two.find("[kiln:autotune]") == std::string::npos, two);
    CHECK_MESSAGE(two.find("published") == std::string::npos, two);
    CHECK_MESSAGE(count(two, "[kiln:cache] remote: hit artifact/") == 2, two);
    CHECK(!sums_line(one).empty());
    CHECK(sums_line(one) == sums_line(two));  // the same code, the same answers
  }

  TEST_CASE("remote child: compile W3 and W4 shapes, print origins and output sums" *
            needs_redis()) {
    if (std::getenv("KILN_TEST_REMOTE_CHILD") == nullptr) return;  // run by the tests above
    // main() turned the tiers and autotuning off; this process takes them from its env.
    set_cache_dir(std::getenv("KILN_CACHE_DIR"));
    RemoteCacheSettings s;
    s.url = std::getenv("KILN_CACHE_REMOTE");
    set_remote_cache_settings(s);
    set_autotune_setting("");
    const bool tune = std::string_view(std::getenv("KILN_TEST_TUNE")) == "1";
    manual_seed(11);
    // W3 and W4 (WORKLOADS.md) at a quarter of their rows, so eight of these run at once.
    const Tensor x3 = randn({2048, 1024}), r3 = randn({2048, 1024}), g3 = randn({1024}),
                 b3 = randn({1024});
    const Tensor x4 = randn({128, 1024}), w1 = randn({4096, 1024}) * 0.03, c1 = randn({4096}),
                 w2 = randn({1024, 4096}) * 0.015, c2 = randn({1024});
    auto w3 = compile(
        [](Tensor x, Tensor r, Tensor g, Tensor b) { return layer_norm(x + r, {1024}, g, b); },
        {.name = "layer_norm", .autotune = AutotuneMode::Off});
    auto w4 =
        compile([](Tensor x, Tensor w1, Tensor b1, Tensor w2,
                   Tensor b2) { return linear(gelu(linear(x, w1, b1)), w2, b2); },
                {.name = "mlp", .autotune = tune ? AutotuneMode::Default : AutotuneMode::Off});
    const Tensor y3 = w3(x3, r3, g3, b3), y4 = w4(x4, w1, c1, w2, c2);
    std::printf("origin: %s\norigin: %s\n",
                explain(w3, x3, r3, g3, b3).entries.at(0).origin.c_str(),
                explain(w4, x4, w1, c1, w2, c2).entries.at(0).origin.c_str());
    double s3 = 0, s4 = 0;
    for (float v : y3.tolist<float>()) s3 += v;
    for (float v : y4.tolist<float>()) s4 += v;
    std::printf("sums: %a %a\n", s3, s4);
    std::fflush(stdout);
  }

  TEST_CASE("Redis killed mid-run: one warning, then local compiles with the right answers" *
            needs_redis()) {
    RedisServer redis;
    Tiers tiers("killed", redis);
    Tensor x = randn({64, 32}), w = randn({32, 48}) * 0.2;
    LogCapture logs("cache");
    auto f = compile(model, {.name = "model"});
    KILN_CHECK_CLOSE(f(x, w), model(x, w), {1e-5, 1e-5});
    CHECK(warnings(logs).empty());
    redis.stop();
    auto g = compile(other_model, {.name = "other"});
    KILN_CHECK_CLOSE(g(x, w), other_model(x, w), {1e-6, 1e-5});
    CHECK(origin_of(g, x, w).starts_with("compiled in "));
    Tensor x2 = randn({16, 32});  // a new entry of each: the tier is not asked again yet
    KILN_CHECK_CLOSE(f(x2, w), model(x2, w), {1e-5, 1e-5});
    KILN_CHECK_CLOSE(g(x2, w), other_model(x2, w), {1e-6, 1e-5});
    const std::vector<std::string> said = warnings(logs);
    REQUIRE_MESSAGE(said.size() == 1, joined(logs.lines()));
    CHECK_MESSAGE(said[0].starts_with("warning: remote cache " + redis.url() + ": "), said[0]);
    CHECK(said[0].find("going on without it (compiling locally), asking it again in 30 s") !=
          std::string::npos);
    CHECK_MESSAGE(joined(logs.lines()).find("not asked again yet") != std::string::npos,
                  joined(logs.lines()));
  }

  TEST_CASE("publishing a large entry to a Redis that died fails without SIGPIPE" * needs_redis()) {
    RedisServer redis;
    // SIGPIPE at its default (ending the process), as in a user's program.
    struct DefaultSigpipe {
      void (*was)(int) = std::signal(SIGPIPE, SIG_DFL);
      ~DefaultSigpipe() { std::signal(SIGPIPE, was); }
    } default_sigpipe;
    const std::unique_ptr<cache::RemoteCache> remote = open_remote(redis);
    std::string why;
    REQUIRE(remote->publish(cache::Kind::Graph, "ab", "small", why) ==
            cache::RemoteCache::Publish::Published);  // connected
    redis.stop();
    // Many writes to a socket the server closed: the first draws a reset, the next would
    // raise SIGPIPE and end this process if it were not blocked around the command.
    const std::string big(48 << 20, 'x');
    CHECK(remote->publish(cache::Kind::Artifact, "cd", big, why) ==
          cache::RemoteCache::Publish::Unreachable);
    CHECK_MESSAGE(!why.empty(), why);
    CHECK(remote->publish(cache::Kind::Artifact, "ef", "x", why) ==
          cache::RemoteCache::Publish::Unreachable);
    CHECK(why.find("not asked again yet") != std::string::npos);
  }

  TEST_CASE("a paused Redis (SIGSTOP): one warning per outage, at most one timeout per rest" *
            needs_redis()) {
    {  // Asked again after every fault (no rest): each lookup waits, one warning is said.
      RedisServer redis;
      Tiers no_rest("paused_no_rest", redis, "", 0);
      redis.pause();
      LogCapture logs("cache");
      Tensor x = randn({8, 32}), w = randn({32, 48}) * 0.2;
      auto f = compile(model, {.name = "model"});
      KILN_CHECK_CLOSE(f(x, w), model(x, w), {1e-5, 1e-5});
      auto g = compile(other_model, {.name = "other"});
      KILN_CHECK_CLOSE(g(x, w), other_model(x, w), {1e-6, 1e-5});
      redis.resume();
      CHECK_MESSAGE(count(joined(logs.lines()), "timed out") >= 2, joined(logs.lines()));
      CHECK_MESSAGE(warnings(logs).size() == 1, joined(logs.lines()));
    }
    RedisServer redis;
    Tiers tiers("paused", redis);
    Tensor x = randn({64, 32}), w = randn({32, 48}) * 0.2;
    LogCapture logs("cache");
    redis.pause();
    auto f = compile(model, {.name = "model"});
    const auto t0 = std::chrono::steady_clock::now();
    KILN_CHECK_CLOSE(f(x, w), model(x, w), {1e-5, 1e-5});
    auto g = compile(other_model, {.name = "other"});
    KILN_CHECK_CLOSE(g(x, w), other_model(x, w), {1e-6, 1e-5});
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    redis.resume();
    const std::vector<std::string> said = warnings(logs);
    REQUIRE_MESSAGE(said.size() == 1, joined(logs.lines()));
    CHECK_MESSAGE(said[0].find("timed out; going on without it") != std::string::npos, said[0]);
    CHECK(origin_of(g, x, w).starts_with("compiled in "));
    // Not a timing assertion, a hang detector: two compiles wait for one 200 ms timeout, not
    // for a paused server.
    CHECK_MESSAGE(ms < 20000, ms);
  }

  TEST_CASE("a full Redis refuses to store: said once, the code stays local" * needs_redis()) {
    RedisServer redis;
    Tiers tiers("full", redis);
    (void)redis.cli("CONFIG SET maxmemory-policy noeviction");
    (void)redis.cli("CONFIG SET maxmemory 1");  // every write is now over the limit
    Tensor x = randn({64, 32}), w = randn({32, 48}) * 0.2;
    LogCapture logs("cache");
    auto f = compile(model, {.name = "model"});
    KILN_CHECK_CLOSE(f(x, w), model(x, w), {1e-5, 1e-5});
    auto g = compile(other_model, {.name = "other"});
    KILN_CHECK_CLOSE(g(x, w), other_model(x, w), {1e-6, 1e-5});
    const std::vector<std::string> said = warnings(logs);
    REQUIRE_MESSAGE(said.size() == 1, joined(logs.lines()));
    CHECK_MESSAGE(said[0].find("cannot publish (Redis refused it: OOM") != std::string::npos,
                  said[0]);
    // The artifact was refused, so its graph record is not offered (it would lead nowhere).
    CHECK(joined(logs.lines()).find("remote: not published artifact/") != std::string::npos);
    CHECK(joined(logs.lines()).find("published graph/") == std::string::npos);
    auto again = compile(model, {.name = "model"});  // the disk cache still has it
    CHECK(origin_of(again, x, w).starts_with("loaded from the disk cache in "));
  }

  TEST_CASE("a corrupted value, garbage and another Target's artifact are refused, never run" *
            needs_redis()) {
    RedisServer redis;
    Tensor x = randn({64, 32}), w = randn({32, 48}) * 0.2;
    std::string host_graph, host_artifact, avx2_graph, avx2_artifact;
    {  // The first machine publishes the model for the host and for x86-64-v3 (AVX2).
      Tiers tiers("publisher", redis);
      auto f = compile(model, {.name = "model"});
      (void)f(x, w);
      const std::unique_ptr<cache::RemoteCache> remote = open_remote(redis);
      host_graph = remote_keys(*remote, cache::Kind::Graph).at(0);
      host_artifact = remote_keys(*remote, cache::Kind::Artifact).at(0);
      auto v3 = compile(model, {.name = "model", .target = "x86-64-v3"});
      (void)v3(x, w);
      for (const std::string &k : remote_keys(*remote, cache::Kind::Graph))
        if (k != host_graph) avx2_graph = k;
      for (const std::string &k : remote_keys(*remote, cache::Kind::Artifact))
        if (k != host_artifact) avx2_artifact = k;
      REQUIRE(!avx2_graph.empty());
      REQUIRE(!avx2_artifact.empty());
    }
    const std::string graph_name = cache::RemoteCache::redis_key(cache::Kind::Graph, host_graph),
                      art_name =
                          cache::RemoteCache::redis_key(cache::Kind::Artifact, host_artifact);
    const std::string good_graph = redis.cli("--no-raw GET " + graph_name);
    const std::unique_ptr<cache::RemoteCache> remote = open_remote(redis);
    std::string why;
    const std::string good = remote->read(cache::Kind::Artifact, host_artifact, why).value();

    // Each case: a fresh machine (empty disk cache) compiles the model and must not load it.
    auto fresh_machine_compiles = [&](std::string_view name, std::string_view said) {
      Tiers tiers(name, redis);
      LogCapture logs("cache");
      auto f = compile(model, {.name = "model"});
      KILN_CHECK_CLOSE(f(x, w), model(x, w), {1e-5, 1e-5});
      CHECK_MESSAGE(origin_of(f, x, w).starts_with("compiled in "), name);
      const std::vector<std::string> warned = warnings(logs);
      REQUIRE_MESSAGE(warned.size() == 1, name, "\n", joined(logs.lines()));
      CHECK_MESSAGE(warned[0].find(said) != std::string::npos, warned[0]);
    };
    SUBCASE("a flipped byte in the artifact") {
      std::string bad = good;
      bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x10);
      const std::string value = "kiln-remote v1 -\n" + bad;
      (void)redis.cli("SET " + art_name, &value);
      fresh_machine_compiles("flipped", "refused (artifact: checksum mismatch");
    }
    SUBCASE("a truncated artifact") {
      const std::string value = "kiln-remote v1 -\n" + good.substr(0, good.size() / 3);
      (void)redis.cli("SET " + art_name, &value);
      fresh_machine_compiles("truncated", "); removed from Redis, compiling again");
    }
    SUBCASE("not kiln's: a plain string, and a list") {
      const std::string value = "hello";
      (void)redis.cli("SET " + art_name, &value);
      fresh_machine_compiles("string", "not an entry of kiln's (no kiln-remote header); removed");
      (void)redis.cli("DEL " + art_name);
      (void)redis.cli(fmt::format("RPUSH {} a b", art_name));
      fresh_machine_compiles("list", "not an entry of kiln's (a Redis value that is not a string)");
    }
    SUBCASE("the AVX2 artifact under the host artifact's key") {
      (void)redis.cli(fmt::format(
          "COPY {} {} REPLACE", cache::RemoteCache::redis_key(cache::Kind::Artifact, avx2_artifact),
          art_name));
      fresh_machine_compiles("foreign", "is not its name); removed from Redis");
    }
    SUBCASE("a graph record that leads to the AVX2 artifact, under the host graph's key") {
      (void)redis.cli(fmt::format("COPY {} {} REPLACE",
                                  cache::RemoteCache::redis_key(cache::Kind::Graph, avx2_graph),
                                  graph_name));
      fresh_machine_compiles("target", "made for another target (cpu x86-64-v3");
      // The record was what was wrong: it was removed (and a good one published in its
      // place); the AVX2 artifact it led to is good for AVX2 machines and stays.
      const std::string record = redis.cli("--no-raw GET " + graph_name);
      CHECK_MESSAGE(record.find(host_artifact) != std::string::npos, record);
      CHECK(remote->read(cache::Kind::Artifact, avx2_artifact, why).has_value());
    }
    // Every refused entry was removed, and the local compile published a good one again.
    std::optional<std::string> now = remote->read(cache::Kind::Artifact, host_artifact, why);
    REQUIRE_MESSAGE(now.has_value(), why);
    CHECK(lower::deserialize(*now).key == host_artifact);
  }

  TEST_CASE("with KILN_CACHE_REMOTE_KEY, unsigned and badly signed entries are refused" *
            needs_redis()) {
    RedisServer redis;
    Tensor x = randn({64, 32}), w = randn({32, 48}) * 0.2;
    {
      Tiers tiers("signer", redis, "alpha");
      auto f = compile(model, {.name = "model"});
      (void)f(x, w);
    }
    auto compile_on_fresh_machine = [&](std::string_view name, std::string key) {
      Tiers tiers(name, redis, std::move(key));
      LogCapture logs("cache");
      auto f = compile(model, {.name = "model"});
      KILN_CHECK_CLOSE(f(x, w), model(x, w), {1e-5, 1e-5});
      return std::pair{origin_of(f, x, w), warnings(logs)};
    };
    {
      const auto [origin, said] = compile_on_fresh_machine("same_key", "alpha");
      CHECK(origin.starts_with("loaded from Redis at "));
      CHECK(said.empty());
    }
    {
      // The signature covers the Redis key: a signed entry moved under another key is refused.
      const std::unique_ptr<cache::RemoteCache> alpha = open_remote(redis, "alpha");
      const std::string graph = remote_keys(*alpha, cache::Kind::Graph).at(0);
      (void)redis.cli(fmt::format("COPY {} {}",
                                  cache::RemoteCache::redis_key(cache::Kind::Graph, graph),
                                  cache::RemoteCache::redis_key(cache::Kind::Graph, "abc123")));
      LogCapture logs("");
      std::string why;
      CHECK(!alpha->read(cache::Kind::Graph, "abc123", why).has_value());
      CHECK(why == "its signature does not match KILN_CACHE_REMOTE_KEY; not loaded");
      CHECK(alpha->read(cache::Kind::Graph, graph, why).has_value());
      (void)redis.cli("DEL " + cache::RemoteCache::redis_key(cache::Kind::Graph, "abc123"));
    }
    {
      const auto [origin, said] = compile_on_fresh_machine("wrong_key", "beta");
      CHECK(origin.starts_with("compiled in "));
      REQUIRE(said.size() == 1);
      CHECK_MESSAGE(
          said[0].find("its signature does not match KILN_CACHE_REMOTE_KEY; not loaded") !=
              std::string::npos,
          said[0]);
    }
    {
      // Redis still holds alpha's entries (a wrong key must not destroy them): unsigned ones
      // put in their place are refused by a signing reader.
      const std::unique_ptr<cache::RemoteCache> unsigned_remote = open_remote(redis);
      std::string why;
      for (const std::string &k : remote_keys(*unsigned_remote, cache::Kind::Graph)) {
        const std::string name = cache::RemoteCache::redis_key(cache::Kind::Graph, k);
        const std::string payload = unsigned_remote->read(cache::Kind::Graph, k, why).value();
        const std::string value = "kiln-remote v1 -\n" + payload;
        (void)redis.cli("SET " + name, &value);
      }
      const auto [origin, said] = compile_on_fresh_machine("unsigned", "alpha");
      CHECK(origin.starts_with("compiled in "));
      REQUIRE(said.size() == 1);
      CHECK(said[0].find("unsigned, and KILN_CACHE_REMOTE_KEY asks for signed entries") !=
            std::string::npos);
    }
  }

  TEST_CASE("eight processes publishing and reading the same keys at once" * needs_redis()) {
    RedisServer redis;
    const fs::path base = fs::temp_directory_path() / fmt::format("kiln_remote_eight_{}", getpid());
    fs::remove_all(base);
    std::vector<FILE *> children;
    for (int i = 0; i < 8; ++i) {
      children.push_back(popen(
          (child_command(redis.url(), base / std::to_string(i), false) + " 2>&1").c_str(), "r"));
      REQUIRE(children.back() != nullptr);
    }
    std::vector<std::string> outs;
    for (FILE *pipe : children) {
      std::string out;
      char buf[4096];
      while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
      CHECK(pclose(pipe) == 0);
      outs.push_back(std::move(out));
    }
    fs::remove_all(base);
    for (const std::string &out : outs) {
      CHECK_MESSAGE(count(out, "origin: ") == 2, out);
      CHECK_MESSAGE(out.find("warning") == std::string::npos, out);
      CHECK(sums_line(out) == sums_line(outs[0]));
    }
    // What is left in Redis: one whole, good artifact and record per function.
    const std::unique_ptr<cache::RemoteCache> remote = open_remote(redis);
    const std::vector<std::string> artifacts = remote_keys(*remote, cache::Kind::Artifact);
    CHECK(artifacts.size() == 2);
    CHECK(remote_keys(*remote, cache::Kind::Graph).size() == 2);
    std::string why;
    for (const std::string &k : artifacts)
      CHECK(lower::deserialize(remote->read(cache::Kind::Artifact, k, why).value()).key == k);
    // Every process asked Redis for both functions (a hit, or a miss and a publish).
    const cache::RemoteStats stats = remote->stats(why);
    CHECK(stats.hits + stats.misses == 16);
  }

  TEST_CASE("kiln-cache: stats and list --remote, push, pull" * needs_redis()) {
    RedisServer redis;
    const std::string tool = KILN_CACHE_PATH;
    Tensor x = randn({64, 32}), w = randn({32, 48}) * 0.2;
    const fs::path one = fs::temp_directory_path() / fmt::format("kiln_remote_tool1_{}", getpid());
    const fs::path two = fs::temp_directory_path() / fmt::format("kiln_remote_tool2_{}", getpid());
    fs::remove_all(one);
    fs::remove_all(two);
    set_cache_dir(one.string());  // compiled with the disk cache alone
    auto f = compile(model, {.name = "model"});
    (void)f(x, w);
    set_cache_dir("");
    const std::string remote = fmt::format("--remote-url={}", redis.url());
    int status = -1;
    std::string out = run_capture(
        fmt::format("{} --cache-dir='{}' {} push", tool, one.string(), remote), &status);
    CHECK(status == 0);
    CHECK_MESSAGE(out.find(fmt::format("published 2 entries to {}; 0 were there already, 0 not "
                                       "pushed",
                                       redis.url())) != std::string::npos,
                  out);
    out = run_capture(fmt::format("{} --cache-dir='{}' {} push", tool, one.string(), remote));
    CHECK_MESSAGE(out.find("published 0 entries") != std::string::npos, out);
    CHECK_MESSAGE(out.find("2 were there already") != std::string::npos, out);
    out = run_capture(
        fmt::format("{} --cache-dir='{}' {} stats --remote", tool, one.string(), remote), &status);
    CHECK(status == 0);
    CHECK_MESSAGE(out.find("entries: 2\n") != std::string::npos, out);
    out = run_capture(
        fmt::format("{} --cache-dir='{}' {} list --remote", tool, one.string(), remote), &status);
    CHECK(status == 0);
    CHECK_MESSAGE(out.find("expires in ") != std::string::npos, out);
    std::string graph;
    for (const auto &e : fs::directory_iterator(one / "v1" / "graph"))
      if (e.path().filename().string()[0] != '.') graph = e.path().filename().string();
    REQUIRE(!graph.empty());
    out = run_capture(
        fmt::format("{} --cache-dir='{}' {} pull {}", tool, two.string(), remote, graph), &status);
    CHECK_MESSAGE(status == 0, out);
    CHECK_MESSAGE(out.find("pulled graph " + graph) != std::string::npos, out);
    CHECK_MESSAGE(out.find("pulled artifact ") != std::string::npos, out);
    set_cache_dir(two.string());  // the pulled entries start a new process warm
    auto g = compile(model, {.name = "model"});
    KILN_CHECK_CLOSE(g(x, w), model(x, w), {1e-5, 1e-5});
    CHECK(origin_of(g, x, w).starts_with("loaded from the disk cache in "));
    set_cache_dir("");
    // Errors: a key Redis lacks, no tier named, Redis gone.
    out = run_capture(fmt::format("{} --cache-dir='{}' {} pull 0123", tool, two.string(), remote),
                      &status);
    CHECK(status == 3);
    CHECK_MESSAGE(out.find("kiln-cache: no entry '0123' in " + redis.url()) != std::string::npos,
                  out);
    out = run_capture(fmt::format("env -u KILN_CACHE_REMOTE {} --cache-dir='{}' stats --remote",
                                  tool, two.string()),
                      &status);
    CHECK(status == 3);
    CHECK_MESSAGE(out.find("no remote tier is named") != std::string::npos, out);
    redis.stop();
    out = run_capture(
        fmt::format("{} --cache-dir='{}' {} stats --remote", tool, two.string(), remote), &status);
    CHECK(status == 3);
    CHECK_MESSAGE(out.find("cannot connect") != std::string::npos, out);
    fs::remove_all(one);
    fs::remove_all(two);
  }
}

}  // namespace kiln::test
