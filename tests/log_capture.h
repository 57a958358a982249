// LogCapture: collects what kiln logs (as "topic: line") while alive, for tests that check
// log and warning texts.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ir/settings.h"

namespace kiln::test {

class LogCapture {
 public:
  explicit LogCapture(std::string_view topics) {
    set_logs(topics);
    set_log_sink([this](std::string_view topic, std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.push_back(std::string(topic) + ": " + std::string(line));
    });
  }
  ~LogCapture() {
    set_log_sink({});
    set_logs("");
  }
  LogCapture(const LogCapture &) = delete;
  LogCapture &operator=(const LogCapture &) = delete;
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

}  // namespace kiln::test
