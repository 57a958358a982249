// Reading the environment switches listed in settings.h.
#include "ir/settings.h"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>

namespace kiln {
namespace {

constexpr std::array<std::string_view, 10> kTopicNames = {
    "graph", "passes",  "guards",       "recompiles", "breaks",
    "fused", "kernels", "compile_time", "cache",      "autotune"};

std::atomic<uint32_t> &topic_mask() {
  static std::atomic<uint32_t> mask{0};
  return mask;
}

uint32_t parse_topics(std::string_view list) {
  uint32_t mask = 0;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    if (item == "all") {
      mask = ~0u;
      continue;
    }
    bool known = false;
    for (size_t i = 0; i < kTopicNames.size(); ++i)
      if (kTopicNames[i] == item) mask |= 1u << i, known = true;
    if (!known)
      fmt::print(stderr,
                 "[kiln] KILN_LOGS: unknown topic '{}': expected all or a comma list of graph, "
                 "passes, guards, recompiles, breaks, fused, kernels, compile_time, cache, "
                 "autotune\n",
                 item);
  }
  return mask;
}

void read_env_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const char *env = std::getenv("KILN_LOGS")) topic_mask() = parse_topics(env);
  });
}

struct Sink {
  std::mutex mutex;
  std::function<void(std::string_view, std::string_view)> fn;
};

Sink &sink() {
  static Sink s;
  return s;
}

void emit(std::string_view name, std::string_view text) {
  Sink &s = sink();
  std::lock_guard lock(s.mutex);
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (s.fn)
      s.fn(name, line);
    else if (name == "warning")
      fmt::print(stderr, "[kiln] {}\n", line);
    else
      fmt::print(stderr, "[kiln:{}] {}\n", name, line);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
}

}  // namespace

bool log_enabled(LogTopic topic) {
  read_env_once();
  return (topic_mask().load(std::memory_order_relaxed) >> static_cast<int>(topic)) & 1u;
}

void log_line(LogTopic topic, std::string_view text) {
  emit(kTopicNames[static_cast<size_t>(topic)], text);
}

void warn(std::string_view text) { emit("warning", text); }

void set_log_sink(std::function<void(std::string_view topic, std::string_view line)> fn) {
  Sink &s = sink();
  std::lock_guard lock(s.mutex);
  s.fn = std::move(fn);
}

void set_logs(std::string_view topics) {
  read_env_once();
  topic_mask() = parse_topics(topics);
}

int env_num_threads() {
  const char *env = std::getenv("KILN_NUM_THREADS");
  if (env == nullptr) return 0;
  const std::string_view text = env;
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const bool whole = !text.empty() && text.front() != '-' && end == text.data() + text.size();
  if (whole && ec == std::errc() && n >= 1 && n <= kMaxThreads) return static_cast<int>(n);
  if (whole && (ec == std::errc::result_out_of_range || (ec == std::errc() && n > kMaxThreads))) {
    warn(fmt::format("KILN_NUM_THREADS: expected at most {} threads, got '{}'; using {}",
                     kMaxThreads, text, kMaxThreads));
    return kMaxThreads;
  }
  warn(fmt::format("KILN_NUM_THREADS: expected an integer from 1 to {}, got '{}'; using all cores",
                   kMaxThreads, text));
  return 0;
}

namespace {
// Whether the variable `name` is "1".
bool env_is_one(const char *name) {
  const char *env = std::getenv(name);
  return env != nullptr && std::string_view(env) == "1";
}

std::atomic<bool> &strict_flag() {
  static std::atomic<bool> flag = env_is_one("KILN_STRICT");
  return flag;
}

std::atomic<bool> &quiet_fallback_flag() {
  static std::atomic<bool> flag = env_is_one("KILN_QUIET_FALLBACK");
  return flag;
}
}  // namespace

bool strict_internal_errors() { return strict_flag().load(std::memory_order_relaxed); }
void set_strict_internal_errors(bool on) { strict_flag().store(on); }

bool quiet_fallback() { return quiet_fallback_flag().load(std::memory_order_relaxed); }
void set_quiet_fallback(bool on) { quiet_fallback_flag().store(on); }

namespace {
// The integer in variable `name` when it lies in [0, max]; else `fallback`, and a warning
// that says what was expected (`what`) and what is used instead (`using_text`).
int64_t env_count(const char *name, int64_t max, int64_t fallback, std::string_view what,
                  std::string_view using_text) {
  const char *env = std::getenv(name);
  if (env == nullptr) return fallback;
  const std::string_view text = env;
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (!text.empty() && end == text.data() + text.size() && ec == std::errc() && n >= 0 && n <= max)
    return n;
  warn(fmt::format("{}: expected {} from 0 to {}, got '{}'; using {}", name, what, max, text,
                   using_text));
  return fallback;
}
}  // namespace

int64_t env_cached_memory_bytes(int64_t fallback) {
  constexpr int64_t kMaxMb = int64_t{1} << 40;  // so that bytes fit int64
  const int64_t mb = env_count("KILN_CACHED_MEMORY_MB", kMaxMb, -1, "a size in MiB",
                               std::to_string(fallback >> 20));
  return mb < 0 ? fallback : mb << 20;
}

int64_t env_spin_us(int64_t fallback) {
  return env_count("KILN_SPIN_US", 100000, fallback, "microseconds", std::to_string(fallback));
}

namespace {

struct DumpDir {
  std::mutex mutex;
  std::string dir;
};

DumpDir &dump_setting() {
  static DumpDir *d = [] {
    auto *d = new DumpDir;
    if (const char *env = std::getenv("KILN_DUMP_DIR")) d->dir = env;
    return d;
  }();
  return *d;
}

}  // namespace

std::string dump_dir() {
  DumpDir &d = dump_setting();
  std::lock_guard lock(d.mutex);
  return d.dir;
}

void set_dump_dir(std::string dir) {
  DumpDir &d = dump_setting();
  std::lock_guard lock(d.mutex);
  d.dir = std::move(dir);
}

namespace {

#ifdef NDEBUG
constexpr bool kVerifyByDefault = false;
#else
constexpr bool kVerifyByDefault = true;
#endif

std::atomic<bool> &verify_setting() {
  static std::atomic<bool> *on = [] {
    const char *env = std::getenv("KILN_VERIFY");
    return new std::atomic<bool>(env == nullptr ? kVerifyByDefault : std::string_view(env) == "1");
  }();
  return *on;
}

}  // namespace

bool verify_passes() { return verify_setting().load(std::memory_order_relaxed); }

void set_verify_passes(bool on) { verify_setting() = on; }

namespace {

struct CacheSetting {
  std::mutex mutex;
  std::string dir;
};

std::string default_cache_dir() {
  if (const char *off = std::getenv("KILN_CACHE")) {
    const std::string_view v = off;
    if (v == "off" || v == "0") return "";
    if (v != "on" && v != "1")
      warn(fmt::format("KILN_CACHE: expected on or off, got '{}'; the cache stays on", v));
  }
  if (const char *dir = std::getenv("KILN_CACHE_DIR"); dir != nullptr && *dir != 0) return dir;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/')
    return std::string(xdg) + "/kiln";
  if (const char *home = std::getenv("HOME"); home != nullptr && *home == '/')
    return std::string(home) + "/.cache/kiln";
  return "";
}

CacheSetting &cache_setting() {
  static CacheSetting *c = [] {
    auto *c = new CacheSetting;
    c->dir = default_cache_dir();
    return c;
  }();
  return *c;
}

}  // namespace

std::string cache_dir() {
  CacheSetting &c = cache_setting();
  std::lock_guard lock(c.mutex);
  return c.dir;
}

void set_cache_dir(std::string dir) {
  CacheSetting &c = cache_setting();
  std::lock_guard lock(c.mutex);
  c.dir = std::move(dir);
}

int64_t cache_max_bytes() {
  static const int64_t bytes = [] {
    constexpr int64_t kDefaultMb = 1024, kMaxMb = int64_t{1} << 30;
    const char *env = std::getenv("KILN_CACHE_MAX_MB");
    if (env == nullptr) return kDefaultMb << 20;
    const std::string_view text = env;
    int64_t mb = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mb);
    if (!text.empty() && end == text.data() + text.size() && ec == std::errc() && mb >= 1 &&
        mb <= kMaxMb)
      return mb << 20;
    warn(fmt::format("KILN_CACHE_MAX_MB: expected a size in MiB from 1 to {}, got '{}'; using {}",
                     kMaxMb, text, kDefaultMb));
    return kDefaultMb << 20;
  }();
  return bytes;
}

namespace {

// An integer from min to max in `text`, or nullopt.
std::optional<int64_t> parse_int(std::string_view text, int64_t min, int64_t max) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || end != text.data() + text.size() || ec != std::errc() || v < min || v > max)
    return std::nullopt;
  return v;
}

RemoteCacheSettings env_remote_cache_settings() {
  RemoteCacheSettings s;
  auto env = [](const char *name) -> std::string {
    const char *v = std::getenv(name);
    return v == nullptr ? "" : v;
  };
  s.url = env("KILN_CACHE_REMOTE");
  s.password = env("KILN_CACHE_REMOTE_PASSWORD");
  s.sign_key = env("KILN_CACHE_REMOTE_KEY");
  if (const std::string ttl = env("KILN_CACHE_REMOTE_TTL"); !ttl.empty()) {
    if (std::optional<int64_t> v = parse_int(ttl, 1, int64_t{1} << 40))
      s.ttl_s = *v;
    else
      warn(
          fmt::format("KILN_CACHE_REMOTE_TTL: expected seconds (a positive integer), got '{}'; "
                      "using {}",
                      ttl, s.ttl_s));
  }
  if (const std::string t = env("KILN_CACHE_REMOTE_TIMEOUT_MS"); !t.empty()) {
    const size_t comma = t.find(',');
    const std::optional<int64_t> c = parse_int(t.substr(0, comma), 1, 60000);
    const std::optional<int64_t> r =
        comma == std::string::npos ? c : parse_int(t.substr(comma + 1), 1, 60000);
    if (c && r) {
      s.connect_timeout_ms = static_cast<int>(*c);
      s.command_timeout_ms = static_cast<int>(*r);
    } else {
      warn(
          fmt::format("KILN_CACHE_REMOTE_TIMEOUT_MS: expected \"connect,command\" in ms (1 to "
                      "60000 each), got '{}'; using {},{}",
                      t, s.connect_timeout_ms, s.command_timeout_ms));
    }
  }
  if (const std::string mb = env("KILN_CACHE_REMOTE_MAX_ENTRY_MB"); !mb.empty()) {
    if (std::optional<int64_t> v = parse_int(mb, 1, 512))
      s.max_entry_bytes = *v << 20;
    else
      warn(
          fmt::format("KILN_CACHE_REMOTE_MAX_ENTRY_MB: expected a size in MiB from 1 to 512 "
                      "(Redis's largest string), got '{}'; using {}",
                      mb, s.max_entry_bytes >> 20));
  }
  return s;
}

struct RemoteSetting {
  std::mutex mutex;
  RemoteCacheSettings settings = env_remote_cache_settings();
};

RemoteSetting &remote_setting() {
  static auto *r = new RemoteSetting;  // never destroyed: read by compiles at exit
  return *r;
}

}  // namespace

RemoteCacheSettings remote_cache_settings() {
  RemoteSetting &r = remote_setting();
  std::lock_guard lock(r.mutex);
  return r.settings;
}

void set_remote_cache_settings(RemoteCacheSettings settings) {
  RemoteSetting &r = remote_setting();
  std::lock_guard lock(r.mutex);
  r.settings = std::move(settings);
}

namespace {

struct AutotuneSetting {
  std::mutex mutex;
  std::string mode;
};

AutotuneSetting &autotune_state() {
  static AutotuneSetting *a = [] {
    auto *a = new AutotuneSetting;
    if (const char *env = std::getenv("KILN_AUTOTUNE")) {
      const std::string_view v = env;
      if (v == "off" || v == "default" || v == "max")
        a->mode = v;
      else if (!v.empty())
        warn(fmt::format("KILN_AUTOTUNE: expected off, default or max, got '{}'; ignored", v));
    }
    return a;
  }();
  return *a;
}

}  // namespace

std::string autotune_setting() {
  AutotuneSetting &a = autotune_state();
  std::lock_guard lock(a.mutex);
  return a.mode;
}

void set_autotune_setting(std::string mode) {
  AutotuneSetting &a = autotune_state();
  std::lock_guard lock(a.mutex);
  a.mode = std::move(mode);
}

bool env_profile() {
  const char *env = std::getenv("KILN_PROFILE");
  if (env == nullptr || *env == 0 || std::string_view(env) == "0") return false;
  if (std::string_view(env) == "1") return true;
  warn(fmt::format("KILN_PROFILE: expected 0 or 1, got '{}'; not profiling", env));
  return false;
}

std::string env_profile_trace() {
  const char *env = std::getenv("KILN_PROFILE_TRACE");
  return env != nullptr ? env : "";
}

}  // namespace kiln
