// The tiers in order, and what KILN_LOGS=cache says of the remote one.
#include "cache/store.h"

#include <fmt/format.h>

#include "cache/graph_record.h"
#include "ir/diag.h"
#include "ir/settings.h"

namespace kiln::cache {
namespace {

void log_remote(std::string_view text) {
  if (log_enabled(LogTopic::Cache)) log_line(LogTopic::Cache, fmt::format("remote: {}", text));
}

}  // namespace

std::string Store::tier_name(Tier tier) const {
  if (tier == Tier::Disk) return "the disk cache";
  return fmt::format("Redis at {}", remote_ ? remote_->url() : "?");
}

std::optional<Found> Store::read(Kind kind, std::string_view key, std::string &why,
                                 const Check &check) const {
  const std::string entry = fmt::format("{}/{}", kind_name(kind), key);
  if (std::optional<std::string> bytes = disk_->read(kind, key, why)) {
    const std::string bad = check(*bytes);
    if (bad.empty()) return Found{std::move(*bytes), Tier::Disk};
    warn(fmt::format("disk cache: entry {} is damaged ({}); removed, compiling again", entry, bad));
    disk_->remove(kind, key);
    why = fmt::format("its entry {} was damaged", entry);
  }
  if (!remote_) return std::nullopt;
  std::string remote_why;
  std::optional<std::string> bytes = remote_->read(kind, key, remote_why);
  if (!bytes) {
    log_remote(fmt::format("miss {}: {}", entry, remote_why));  // refusals were said there
    return std::nullopt;
  }
  if (const std::string bad = check(*bytes); !bad.empty()) {
    warn(
        fmt::format("remote cache {}: entry {} refused ({}); removed from Redis, compiling "
                    "again",
                    remote_->url(), entry, bad));
    remote_->remove(kind, key);
    why = fmt::format("its entry {} in Redis was damaged", entry);
    return std::nullopt;
  }
  log_remote(fmt::format("hit {} ({} bytes) from {}", entry, bytes->size(), remote_->url()));
  disk_->write(kind, key, *bytes);
  return Found{std::move(*bytes), Tier::Remote};
}

bool Store::write(Kind kind, std::string_view key, std::string_view bytes, bool publish) const {
  disk_->write(kind, key, bytes);
  if (!remote_) return true;
  if (!publish) return false;
  std::string why;
  const RemoteCache::Publish outcome = remote_->publish(kind, key, bytes, why);
  if (outcome == RemoteCache::Publish::Published)
    log_remote(fmt::format("published {}/{} ({} bytes) to {}", kind_name(kind), key, bytes.size(),
                           remote_->url()));
  else
    log_remote(fmt::format("not published {}/{}: {}", kind_name(kind), key, why));
  return outcome == RemoteCache::Publish::Published ||
         outcome == RemoteCache::Publish::AlreadyThere;
}

void Store::remove(Kind kind, std::string_view key) const {
  disk_->remove(kind, key);
  if (remote_) remote_->remove(kind, key);
}

void Store::record(bool hit, bool asked_remote) const {
  disk_->record(hit);
  if (asked_remote && remote_) remote_->record(hit);
}

std::string check_entry(Kind kind, std::string_view key, std::string_view bytes,
                        lower::Artifact *artifact) {
  switch (kind) {
    case Kind::Artifact:
      try {
        lower::Artifact a = lower::deserialize(bytes);
        if (a.key != key) return fmt::format("its content's key {} is not its name", a.key);
        if (artifact != nullptr) *artifact = std::move(a);
        return "";
      } catch (const Error &e) {
        return e.what();
      }
    case Kind::Graph: return GraphRecord::parse(bytes) ? "" : "not a graph record";
    case Kind::Tuning: return bytes.empty() ? "an empty tuning record" : "";
    case Kind::Index: return "";
  }
  return "";
}

PushResult push(const DiskCache &disk, RemoteCache &remote) {
  PushResult out;
  for (const EntryInfo &e : disk.list()) {
    if (e.kind == Kind::Index) continue;
    std::string why;
    const std::optional<std::string> bytes = disk.read(e.kind, e.key, why, false);
    if (bytes) why = check_entry(e.kind, e.key, *bytes);
    if (!why.empty()) {
      out.not_pushed.push_back(fmt::format("{} {}: {}", kind_name(e.kind), e.key, why));
      continue;
    }
    switch (remote.publish(e.kind, e.key, *bytes, why)) {
      case RemoteCache::Publish::Published: ++out.published; break;
      case RemoteCache::Publish::AlreadyThere: ++out.already_there; break;
      case RemoteCache::Publish::Refused:
        out.not_pushed.push_back(fmt::format("{} {}: {}", kind_name(e.kind), e.key, why));
        break;
      case RemoteCache::Publish::Unreachable:
        out.fault = why;  // every later entry would wait for it too
        return out;
    }
  }
  return out;
}

}  // namespace kiln::cache
