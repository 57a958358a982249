// The stock child of --libtorch both: started with posix_spawn and an environment built here
// (not fork + unsetenv, which is unsafe once libtorch or the kiln thread pool has threads).
#include "libtorch_stock.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ir/diag.h"

extern char **environ;

namespace kiln::perf {
namespace {

bool is_tuned_variable(std::string_view entry) {
  for (std::string_view name : kTunedVariables)
    if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=')
      return true;
  return false;
}

// Waits for the child and says how it ended: "" for exit status 0, else the status or signal.
std::string wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return fmt::format("no status (waitpid: {})", std::strerror(errno));
  if (WIFEXITED(status))
    return WEXITSTATUS(status) == 0 ? "" : fmt::format("{}", WEXITSTATUS(status));
  return fmt::format("signal {}", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

StockTimes run_stock_child(const std::vector<std::string> &args) {
  char path[] = "/tmp/kiln-bench-stock-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0)
    fail("kiln-bench: cannot create a temporary file for the stock run: {}", std::strerror(errno));
  close(fd);
  std::vector<std::string> words = {"kiln-bench", "--libtorch-only", "--libtorch",
                                    "stock",      "--json",          path};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char *> argv, envp;
  for (std::string &w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  for (char **e = environ; *e != nullptr; ++e)
    if (!is_tuned_variable(*e)) envp.push_back(*e);
  envp.push_back(nullptr);
  // The child's table would interleave with this one; its errors still reach stderr.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    std::remove(path);
    fail("kiln-bench: cannot start the stock libtorch run: {}", std::strerror(spawned));
  }
  const std::string ended = wait_for(pid);
  std::ifstream in(path);
  const nlohmann::json report = nlohmann::json::parse(in, nullptr, false);
  std::remove(path);
  if (!ended.empty())
    fail("kiln-bench: the stock libtorch run failed: expected exit status 0, got {}", ended);
  if (!report.is_object() || !report.contains("results"))
    fail("kiln-bench: the stock libtorch run wrote no results");
  StockTimes times;
  for (const nlohmann::json &row : report["results"])
    times[{row["workload"].get<std::string>(), row["threads"].get<int>()}] =
        row["libtorch_eager_ms"].get<double>();
  return times;
}

}  // namespace kiln::perf
