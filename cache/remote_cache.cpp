// The remote tier over hiredis (synchronous, one connection per process, guarded by a
// mutex: compiles are rare and each asks a few keys) and HMAC-SHA256 from libcrypto.
// A value in Redis: "kiln-remote v1 <signature>\n" and the entry's bytes; the signature is
// 64 hex digits of HMAC(key, "<redis key>\n<bytes>"), or "-" when the publisher had no key.
// Binding the Redis key into the signature keeps a signed entry from being moved under
// another key.
#include "cache/remote_cache.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdarg>

namespace kiln::cache {
namespace {

constexpr std::string_view kHeader = "kiln-remote v1 ";
constexpr size_t kSignatureDigits = 64;  // HMAC-SHA256 in hex
constexpr size_t kMaxHeader = 128;       // "kiln-remote v1 " + a signature + "\n", with room
constexpr std::string_view kStatsHits = "kiln:v1:stats:hits", kStatsMisses = "kiln:v1:stats:misses";

struct ReplyDeleter {
  void operator()(redisReply *r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval milliseconds(int ms) { return {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}; }

std::string hex(const unsigned char *bytes, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += fmt::format("{:02x}", bytes[i]);
  return out;
}

std::string signature(const std::string &sign_key, std::string_view redis_key,
                      std::string_view bytes) {
  const std::string message = fmt::format("{}\n{}", redis_key, bytes);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int n = 0;
  if (HMAC(EVP_sha256(), sign_key.data(), static_cast<int>(sign_key.size()),
           reinterpret_cast<const unsigned char *>(message.data()), message.size(), mac.data(),
           &n) == nullptr)
    return "";
  return hex(mac.data(), n);
}

std::string_view reply_text(const redisReply &r) { return {r.str, static_cast<size_t>(r.len)}; }

// Kind and key of a Redis key "kiln:v1:<kind>:<key>", or nullopt for any other name.
std::optional<std::pair<Kind, std::string>> entry_of(std::string_view name) {
  for (Kind kind : kAllKinds) {
    const std::string prefix = RemoteCache::redis_key(kind, "");
    if (name.starts_with(prefix) && valid_key(name.substr(prefix.size())))
      return std::pair{kind, std::string(name.substr(prefix.size()))};
  }
  return std::nullopt;
}

// While alive, a write to a socket Redis closed fails with EPIPE in this thread instead of
// raising SIGPIPE, which would end the user's process (hiredis writes with write(2), and a
// large entry takes several writes: the second one after the server died is the one that
// would kill). The signal is blocked for this thread only, and one it raised meanwhile is
// taken off the thread's pending set before the old mask returns.
class NoSigpipe {
 public:
  NoSigpipe() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~NoSigpipe() {
    if (!was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  NoSigpipe(const NoSigpipe &) = delete;
  NoSigpipe &operator=(const NoSigpipe &) = delete;

 private:
  sigset_t pipe_{}, old_{};
  bool was_pending_ = false;  // someone else's SIGPIPE, left for them
};

}  // namespace

struct RemoteCache::Connection {
  redisContext *context = nullptr;
  pid_t pid = ::getpid();  // the process that made it
  ~Connection() {
    if (context != nullptr) redisFree(context);
  }

  // The reply, or null with `why` when the connection failed (then it is unusable).
  Reply command(std::string &why, const char *format, ...) {
    const NoSigpipe no_sigpipe;
    va_list args;
    va_start(args, format);
    auto *reply = static_cast<redisReply *>(redisvCommand(context, format, args));
    va_end(args);
    if (reply == nullptr)
      why = context->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
                ? "timed out"
                : fmt::format("{}", context->errstr[0] != 0 ? context->errstr : "no reply");
    return Reply(reply);
  }
};

bool remote_cache_built() { return true; }

std::unique_ptr<RemoteCache> RemoteCache::open(const RemoteCacheSettings &settings,
                                               std::string &why) {
  std::optional<RemoteAddress> address = parse_remote_url(settings.url, why);
  if (!address) return nullptr;
  return std::unique_ptr<RemoteCache>(new RemoteCache(settings, *address));
}

RemoteCache::RemoteCache(RemoteCacheSettings settings, RemoteAddress address)
    : settings_(std::move(settings)), address_(std::move(address)) {}

RemoteCache::~RemoteCache() = default;

void RemoteCache::fail(const std::string &why) {
  connection_.reset();
  resting_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(settings_.retry_after_s);
  last_fault_ = why;
  if (!warned_)
    warn(
        fmt::format("remote cache {}: {}; going on without it (compiling locally), asking it "
                    "again in {} s",
                    url(), why, settings_.retry_after_s));
  warned_ = true;
}

RemoteCache::Connection *RemoteCache::connection(std::string &why) {
  // A forked child shares the socket with its parent, and would read the parent's replies:
  // it drops its copy (closing its descriptor leaves the parent's open) and connects anew.
  if (connection_ && connection_->pid != ::getpid()) connection_.reset();
  if (connection_) return connection_.get();
  if (std::chrono::steady_clock::now() < resting_until_) {
    why = fmt::format("unreachable ({}); not asked again yet", last_fault_);
    return nullptr;
  }
  auto c = std::make_unique<Connection>();
  c->context = redisConnectWithTimeout(address_.host.c_str(), address_.port,
                                       milliseconds(settings_.connect_timeout_ms));
  if (c->context == nullptr || c->context->err != 0) {
    why = c->context == nullptr ? "cannot allocate a connection"
                                : fmt::format("cannot connect: {}", c->context->errstr);
    fail(why);
    return nullptr;
  }
  if (redisSetTimeout(c->context, milliseconds(settings_.command_timeout_ms)) != REDIS_OK) {
    why = "cannot set the command timeout";
    fail(why);
    return nullptr;
  }
  auto setup = [&](Reply r, std::string_view what) {
    if (!r) {
      why = fmt::format("{} {}", what, why);
    } else if (r->type == REDIS_REPLY_ERROR) {
      why = fmt::format("{} refused: {}", what, reply_text(*r));
    } else {
      return true;
    }
    fail(why);
    return false;
  };
  if (!settings_.password.empty() &&
      !setup(c->command(why, "AUTH %b", settings_.password.data(), settings_.password.size()),
             "AUTH"))
    return nullptr;
  if (address_.db != 0 && !setup(c->command(why, "SELECT %d", address_.db), "SELECT"))
    return nullptr;
  // A server that accepts connections may still not answer (paused, loading, not Redis):
  // the outage ends only with an answer.
  if (!setup(c->command(why, "PING"), "PING")) return nullptr;
  warned_ = false;  // the next outage is said again
  connection_ = std::move(c);
  return connection_.get();
}

std::optional<std::string> RemoteCache::read(Kind kind, std::string_view key, std::string &why) {
  std::lock_guard lock(mutex_);
  Connection *c = connection(why);
  if (c == nullptr) return std::nullopt;
  const std::string name = redis_key(kind, key);
  const Reply r = c->command(why, "GET %b", name.data(), name.size());
  if (!r) {
    fail(why);
    return std::nullopt;
  }
  if (r->type == REDIS_REPLY_NIL) {
    why = "no entry";
    return std::nullopt;
  }
  auto refuse = [&](std::string reason) {
    why = std::move(reason);
    warn(fmt::format("remote cache {}: entry {} refused: {}", url(), name, why));
    return std::nullopt;
  };
  if (r->type == REDIS_REPLY_ERROR && !reply_text(*r).starts_with("WRONGTYPE")) {
    why = fmt::format("Redis answered GET with an error: {}", reply_text(*r));
    fail(why);  // a server in trouble (loading, misconfigured), not one bad entry
    return std::nullopt;
  }
  const bool is_string = r->type == REDIS_REPLY_STRING;
  const std::string_view value = is_string ? reply_text(*r) : std::string_view();
  const size_t eol = value.find('\n');
  if (!is_string || !value.starts_with(kHeader) || eol == std::string_view::npos) {
    std::string del_why;
    if (!c->command(del_why, "DEL %b", name.data(), name.size())) fail(del_why);
    return refuse(is_string
                      ? "not an entry of kiln's (no kiln-remote header); removed"
                      : "not an entry of kiln's (a Redis value that is not a string); removed");
  }
  if (static_cast<int64_t>(value.size()) > settings_.max_entry_bytes + int64_t{kMaxHeader})
    return refuse(fmt::format("{} bytes, over the limit of {} (KILN_CACHE_REMOTE_MAX_ENTRY_MB)",
                              value.size(), settings_.max_entry_bytes));
  const std::string_view sig = value.substr(kHeader.size(), eol - kHeader.size());
  std::string bytes(value.substr(eol + 1));
  if (signs()) {
    if (sig == "-")
      return refuse("unsigned, and KILN_CACHE_REMOTE_KEY asks for signed entries; not loaded");
    const std::string want = signature(settings_.sign_key, name, bytes);
    if (want.size() != kSignatureDigits)
      return refuse("its signature cannot be checked (HMAC-SHA256 failed in libcrypto)");
    if (sig.size() != want.size() || CRYPTO_memcmp(sig.data(), want.data(), want.size()) != 0)
      return refuse("its signature does not match KILN_CACHE_REMOTE_KEY; not loaded");
  }
  return bytes;
}

RemoteCache::Publish RemoteCache::publish(Kind kind, std::string_view key, std::string_view bytes,
                                          std::string &why) {
  if (!valid_key(key)) {
    why = fmt::format("'{}' is not a cache key", key);
    return Publish::Refused;
  }
  if (static_cast<int64_t>(bytes.size()) > settings_.max_entry_bytes) {
    why = fmt::format("{} bytes, over the limit of {} (KILN_CACHE_REMOTE_MAX_ENTRY_MB)",
                      bytes.size(), settings_.max_entry_bytes);
    return Publish::Refused;
  }
  const std::string name = redis_key(kind, key);
  const std::string sig = signs() ? signature(settings_.sign_key, name, bytes) : "-";
  if (signs() && sig.size() != kSignatureDigits) {
    why = "cannot sign it (HMAC-SHA256 failed in libcrypto)";
    return Publish::Refused;
  }
  const std::string value = fmt::format("{}{}\n{}", kHeader, sig, bytes);
  std::lock_guard lock(mutex_);
  Connection *c = connection(why);
  if (c == nullptr) return Publish::Unreachable;
  const std::string ttl = std::to_string(settings_.ttl_s);
  const Reply r = c->command(why, "SET %b %b NX EX %s", name.data(), name.size(), value.data(),
                             value.size(), ttl.c_str());
  if (!r) {
    fail(why);
    return Publish::Unreachable;
  }
  if (r->type == REDIS_REPLY_NIL) {
    why = "already there";
    return Publish::AlreadyThere;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    why = fmt::format("Redis refused it: {}", reply_text(*r));
    if (!warned_publish_)  // full (maxmemory), read-only replica: said once, entries stay local
      warn(fmt::format("remote cache {}: cannot publish ({}); compiled code stays on this machine",
                       url(), why));
    warned_publish_ = true;
    return Publish::Refused;
  }
  return Publish::Published;
}

void RemoteCache::remove(Kind kind, std::string_view key) {
  std::lock_guard lock(mutex_);
  std::string why;
  Connection *c = connection(why);
  if (c == nullptr) return;
  const std::string name = redis_key(kind, key);
  if (!c->command(why, "DEL %b", name.data(), name.size())) fail(why);
}

void RemoteCache::record(bool hit) {
  std::lock_guard lock(mutex_);
  std::string why;
  Connection *c = connection(why);
  if (c == nullptr) return;
  const std::string_view name = hit ? kStatsHits : kStatsMisses;
  if (!c->command(why, "INCR %b", name.data(), name.size())) fail(why);
}

RemoteStats RemoteCache::stats(std::string &why) {
  RemoteStats out;
  for (const RemoteEntry &e : list(why)) {
    ++out.entries;
    out.bytes += e.bytes;
  }
  std::lock_guard lock(mutex_);
  Connection *c = connection(why);
  if (c == nullptr) return out;
  const Reply r = c->command(why, "MGET %b %b", kStatsHits.data(), kStatsHits.size(),
                             kStatsMisses.data(), kStatsMisses.size());
  if (!r) {
    fail(why);
    return out;
  }
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
    auto count = [](const redisReply *e) {
      return e->type == REDIS_REPLY_STRING ? std::strtoll(e->str, nullptr, 10) : 0LL;
    };
    out.hits = count(r->element[0]);
    out.misses = count(r->element[1]);
  }
  return out;
}

std::vector<RemoteEntry> RemoteCache::list(std::string &why) {
  std::lock_guard lock(mutex_);
  std::vector<RemoteEntry> out;
  Connection *c = connection(why);
  if (c == nullptr) return out;
  std::string cursor = "0";
  do {
    const Reply r = c->command(why, "SCAN %s MATCH kiln:v1:* COUNT 1000", cursor.c_str());
    if (!r) {
      fail(why);
      return out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
      why = "SCAN gave an unexpected reply";
      return out;
    }
    cursor = std::string(reply_text(*r->element[0]));
    const redisReply &names = *r->element[1];
    for (size_t i = 0; i < names.elements; ++i) {
      if (names.element[i]->type != REDIS_REPLY_STRING) continue;
      const std::string_view name = reply_text(*names.element[i]);
      std::optional<std::pair<Kind, std::string>> entry = entry_of(name);
      if (!entry) continue;
      RemoteEntry e{.kind = entry->first, .key = std::move(entry->second)};
      const Reply len = c->command(why, "STRLEN %b", name.data(), name.size());
      const Reply ttl = len ? c->command(why, "TTL %b", name.data(), name.size()) : Reply();
      if (!len || !ttl) {
        fail(why);
        return out;
      }
      if (len->type == REDIS_REPLY_INTEGER) e.bytes = len->integer;
      if (ttl->type == REDIS_REPLY_INTEGER) e.ttl_s = ttl->integer;
      out.push_back(std::move(e));
    }
  } while (cursor != "0");
  return out;
}

}  // namespace kiln::cache
