// Every environment switch kiln reads, with its default, in one place:
//   KILN_NUM_THREADS  threads in the runtime pool, 1 to kMaxThreads (1024)  default: hardware
//                     cores; a larger number is capped, anything else (0, "1x") is ignored,
//                     each with a warning
//   KILN_LOGS         comma list of log topics printed to stderr   default: none
//                     (graph, passes, guards, recompiles, breaks, fused, kernels,
//                      compile_time, cache, autotune; "all" turns every topic on)
//   KILN_DUMP_DIR     folder that receives every stage of every compiled function
//                     (IR text after tracing and after each changing pass, guards)  default: unset
//                     The kernel groups go to fused.txt, not .kir: their `call` lines and
//                     `kernel` blocks (which name the caller's values) are a report, not IR
//                     that the parser reads.
//   KILN_SPIN_US      microseconds a pool thread spins for its next job (and a caller for
//                     its job's end) before it sleeps, 0 to 100000; 0 when the cores are
//                     shared with other busy processes; anything else is ignored with a
//                     warning                                      default: 200
//   KILN_CACHED_MEMORY_MB  freed tensor memory the caching allocator keeps for reuse, in
//                     MiB (0: none); anything but a non-negative integer is ignored with a
//                     warning                                      default: 2048
//   KILN_STRICT       1: an internal error while compiling is thrown to the caller, not
//                     answered by running eagerly (for tests and fuzzers)   default: 0
//   KILN_QUIET_FALLBACK  1: a guard set that runs eagerly (a graph break, the recompile
//                     limit) is not announced on stderr (KILN_LOGS=breaks,recompiles still
//                     say it)                                              default: 0
//   KILN_VERIFY       1: run the IR verifier before and after every pass   default: debug builds 1,
//                     release builds 0 (the fuzzer and the differential tests turn it on)
//   KILN_CACHE        off: no disk cache                                   default: on
//   KILN_CACHE_DIR    the disk cache's folder          default: $XDG_CACHE_HOME/kiln, else
//                     ~/.cache/kiln
//   KILN_CACHE_MAX_MB the disk cache's size limit in MiB (least recently used entries go
//                     first)                                               default: 1024
//   KILN_CACHE_REMOTE a shared tier behind the disk cache, in Redis:
//                     redis://host[:port][/db] (cache/remote_cache.h)      default: unset (off)
//   KILN_CACHE_REMOTE_PASSWORD  the Redis password (AUTH); never printed    default: unset
//   KILN_CACHE_REMOTE_KEY  an HMAC-SHA256 key: entries are signed when published and must
//                     carry a good signature to be loaded                  default: unset
//   KILN_CACHE_REMOTE_TTL  seconds a published entry lives in Redis         default: 604800
//   KILN_CACHE_REMOTE_TIMEOUT_MS  connect and command timeouts, "C,R" in ms  default: 50,200
//   KILN_CACHE_REMOTE_MAX_ENTRY_MB  the largest entry published or loaded    default: 64
//   KILN_AUTOTUNE     off, default or max: overrides CompileOptions::autotune for every
//                     function                                             default: unset
//   KILN_TRACE        a file: append one JSON line per compile event (ir/trace.h) default: unset
//   KILN_PROFILE      1: time every step of every compiled call, print the table at exit
//                     (runtime/profile.h)                                  default: 0
//   KILN_PROFILE_TRACE  a file: profile too, and write the Chrome trace-event JSON there at
//                     exit                                                 default: unset
// Values are read once, on first use (KILN_PROFILE and KILN_PROFILE_TRACE: when the library
// loads, so they must be set before the process starts).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace kiln {

enum class LogTopic : uint8_t {
  Graph,
  Passes,
  Guards,
  Recompiles,
  Breaks,
  Fused,
  Kernels,
  CompileTime,
  Cache,
  Autotune
};

[[nodiscard]] bool log_enabled(LogTopic topic);
// Prints "[kiln:<topic>] <text>" to stderr, one line per line of text.
void log_line(LogTopic topic, std::string_view text);
// Overrides KILN_LOGS for this process (tests and tools); same syntax.
void set_logs(std::string_view topics);
// A warning the user should see once, whatever KILN_LOGS says: "[kiln] <text>" on stderr.
void warn(std::string_view text);
// Redirects log lines and warnings (topic name "warning") from stderr to `sink`, or back
// to stderr when sink is empty. For tests that assert what kiln says.
void set_log_sink(std::function<void(std::string_view topic, std::string_view line)> sink);

// The most threads the runtime pool runs; more is never faster and can exhaust the process.
constexpr int kMaxThreads = 1024;
// KILN_NUM_THREADS (capped at kMaxThreads), or 0 when unset or not a positive integer.
[[nodiscard]] int env_num_threads();
// Whether a kiln::InternalError while compiling or running a compiled function is rethrown
// (KILN_STRICT=1; tests and fuzzers turn it on) instead of running the function eagerly.
[[nodiscard]] bool strict_internal_errors();
void set_strict_internal_errors(bool on);
// Whether eager fallbacks go unannounced (KILN_QUIET_FALLBACK=1; CompileOptions has the same
// switch per function). A kiln bug's fallback is announced regardless.
[[nodiscard]] bool quiet_fallback();
void set_quiet_fallback(bool on);
// KILN_CACHED_MEMORY_MB in bytes, or `fallback` when unset or not a non-negative integer.
[[nodiscard]] int64_t env_cached_memory_bytes(int64_t fallback);
// KILN_SPIN_US in microseconds, or `fallback` when unset or not 0..100000 (with a warning).
[[nodiscard]] int64_t env_spin_us(int64_t fallback);
[[nodiscard]] std::string dump_dir();  // KILN_DUMP_DIR, or "" when unset
void set_dump_dir(std::string dir);    // overrides KILN_DUMP_DIR ("" turns dumping off)
[[nodiscard]] bool verify_passes();    // KILN_VERIFY, or the build's default when unset
void set_verify_passes(bool on);       // overrides KILN_VERIFY for this process
// The disk cache's folder (KILN_CACHE_DIR, XDG_CACHE_HOME or HOME), or "" when KILN_CACHE=off
// or no folder is named.
[[nodiscard]] std::string cache_dir();
void set_cache_dir(std::string dir);      // overrides both for this process ("" turns it off)
[[nodiscard]] int64_t cache_max_bytes();  // KILN_CACHE_MAX_MB in bytes

// The remote cache tier's settings (KILN_CACHE_REMOTE*). An unset or malformed number keeps
// its default, with a warning for a malformed one.
struct RemoteCacheSettings {
  std::string url;       // "" when the remote tier is off
  std::string password;  // never printed
  std::string sign_key;  // "" when entries are neither signed nor checked
  int64_t ttl_s = 7 * 24 * 3600;
  int connect_timeout_ms = 50, command_timeout_ms = 200;
  int64_t max_entry_bytes = int64_t{64} << 20;
  int retry_after_s = 30;  // after a fault, Redis is not asked again for this long (no variable)
  bool operator==(const RemoteCacheSettings &) const = default;
};
[[nodiscard]] RemoteCacheSettings remote_cache_settings();
// Overrides every KILN_CACHE_REMOTE* variable for this process (tests, tools; an empty url
// turns the tier off).
void set_remote_cache_settings(RemoteCacheSettings settings);
// KILN_AUTOTUNE ("off", "default" or "max"), or "" when unset (each function's option
// decides); anything else is ignored with a warning.
[[nodiscard]] std::string autotune_setting();
void set_autotune_setting(std::string mode);  // overrides KILN_AUTOTUNE ("" unsets it)

// KILN_PROFILE is 1; KILN_PROFILE_TRACE's file, or "".
[[nodiscard]] bool env_profile();
[[nodiscard]] std::string env_profile_trace();

}  // namespace kiln
