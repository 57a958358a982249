// KILN_TRACE's writer: the file is opened once per path with O_APPEND; a failure to open or
// write it is said once and the trace stops, never the compile.
#include "ir/trace.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "ir/settings.h"

namespace kiln::trace {
namespace {

struct State {
  std::mutex mutex;
  std::string path;
  int fd = -1;
  std::atomic<bool> on{false};
};

State &state() {
  static auto *s = [] {
    auto *st = new State;  // never destroyed: compiles may trace during exit
    if (const char *env = std::getenv("KILN_TRACE"); env != nullptr && *env != 0) {
      st->path = env;
      st->on = true;
    }
    return st;
  }();
  return *s;
}

// The open file, or -1 (said once) when it cannot be opened.
int open_file(State &s) {
  if (s.fd >= 0) return s.fd;
  s.fd = ::open(s.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (s.fd < 0) {
    warn(
        fmt::format("KILN_TRACE: cannot open '{}': {}; not tracing", s.path, std::strerror(errno)));
    s.on = false;
  }
  return s.fd;
}

}  // namespace

bool enabled() { return state().on.load(std::memory_order_relaxed); }

void set_file(std::string path) {
  State &s = state();
  std::lock_guard lock(s.mutex);
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.path = std::move(path);
  s.on = !s.path.empty();
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else
          out += c;
    }
  }
  return out + "\"";
}

void event(std::string_view name, std::initializer_list<Field> fields) {
  if (!enabled()) return;
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  std::string line =
      fmt::format("{{\"ts_us\": {}, \"pid\": {}, \"event\": {}", us, ::getpid(), json_quote(name));
  for (const Field &f : fields) {
    line += fmt::format(", {}: ", json_quote(f.name));
    std::visit(
        [&](const auto &v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>)
            line += json_quote(v);
          else if constexpr (std::is_same_v<T, bool>)
            line += v ? "true" : "false";
          else if constexpr (std::is_same_v<T, double>)
            line += fmt::format("{:.3f}", v);
          else
            line += fmt::format("{}", v);
        },
        f.value);
  }
  line += "}\n";
  State &s = state();
  std::lock_guard lock(s.mutex);
  if (!s.on) return;
  const int fd = open_file(s);
  if (fd < 0) return;
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    warn(fmt::format("KILN_TRACE: cannot write '{}': {}; not tracing", s.path,
                     std::strerror(errno)));
    s.on = false;
  }
}

}  // namespace kiln::trace
