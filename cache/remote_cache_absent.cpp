// The remote tier in a kiln built without hiredis or libcrypto: it says so, and the disk
// cache works alone.
#include "cache/remote_cache.h"

namespace kiln::cache {

struct RemoteCache::Connection {};

bool remote_cache_built() { return false; }

std::unique_ptr<RemoteCache> RemoteCache::open(const RemoteCacheSettings &, std::string &why) {
  why =
      "this kiln was built without the remote cache tier (it needs libhiredis-dev and libssl-dev "
      "at configure time)";
  return nullptr;
}

RemoteCache::RemoteCache(RemoteCacheSettings settings, RemoteAddress address)
    : settings_(std::move(settings)), address_(std::move(address)) {}
RemoteCache::~RemoteCache() = default;
void RemoteCache::fail(const std::string &) {}
RemoteCache::Connection *RemoteCache::connection(std::string &) { return nullptr; }
std::optional<std::string> RemoteCache::read(Kind, std::string_view, std::string &why) {
  why = "no remote tier";
  return std::nullopt;
}
RemoteCache::Publish RemoteCache::publish(Kind, std::string_view, std::string_view,
                                          std::string &why) {
  why = "no remote tier";
  return Publish::Unreachable;
}
void RemoteCache::remove(Kind, std::string_view) {}
void RemoteCache::record(bool) {}
RemoteStats RemoteCache::stats(std::string &why) {
  why = "no remote tier";
  return {};
}
std::vector<RemoteEntry> RemoteCache::list(std::string &why) {
  why = "no remote tier";
  return {};
}

}  // namespace kiln::cache
