// Runs perf/peers.py through popen and reads its one JSON object; see python_peers.h.
#include "python_peers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace kiln::perf {
namespace {

std::optional<double> number(const nlohmann::json &row, const char *key) {
  const auto it = row.find(key);
  if (it == row.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// The script's arguments, quoted for the shell (they are ours: ids, numbers and names).
std::string command(int threads, double budget_s, const std::vector<std::string> &filter,
                    const std::string &peers) {
  std::string cmd = fmt::format("python3 '{}' --threads {} --budget {} --peers '{}'",
                                KILN_PEERS_SCRIPT, threads, budget_s, peers);
  if (!filter.empty()) cmd += fmt::format(" --filter '{}'", fmt::join(filter, ","));
  return cmd;
}

}  // namespace

PeerRun run_python_peers(int threads, double budget_s, const std::vector<std::string> &filter,
                         const std::string &peers) {
  PeerRun run;
  // Its progress goes to our stderr; stdout is one JSON object.
  FILE *child = ::popen(command(threads, budget_s, filter, peers).c_str(), "r");
  if (child == nullptr) {
    run.absent = "cannot start python3";
    return run;
  }
  std::string out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, child)) > 0;) out.append(buffer, n);
  const int status = ::pclose(child);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    run.absent = WIFEXITED(status) && WEXITSTATUS(status) == 127
                     ? std::string("python3 was not found")
                     : fmt::format("{} failed (exit status {})", KILN_PEERS_SCRIPT,
                                   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return run;
  }
  const nlohmann::json report = nlohmann::json::parse(out, nullptr, false);
  if (report.is_discarded() || !report.is_object()) {
    run.absent = fmt::format("{} printed no JSON object", KILN_PEERS_SCRIPT);
    return run;
  }
  std::vector<std::string> versions, absent;
  const nlohmann::json found = report.value("versions", nlohmann::json::object()),
                       missing = report.value("absent", nlohmann::json::object());
  for (const char *peer : {"torch", "jax"}) {
    const nlohmann::json v = found.value(peer, nlohmann::json());
    if (v.is_string()) versions.push_back(fmt::format("{} {}", peer, v.get<std::string>()));
    const nlohmann::json why = missing.value(peer, nlohmann::json());
    if (why.is_string()) absent.push_back(fmt::format("{}: {}", peer, why.get<std::string>()));
  }
  run.versions = fmt::format("{}", fmt::join(versions, ", "));
  run.absent = fmt::format("{}", fmt::join(absent, "; "));
  const nlohmann::json workloads = report.value("workloads", nlohmann::json::object());
  for (const auto &[id, row] : workloads.items())
    run.rows[id] = {.torch_eager_ms = number(row, "torch_eager_ms"),
                    .torch_compile_ms = number(row, "torch_compile_ms"),
                    .torch_compile_max_ms = number(row, "torch_compile_max_ms"),
                    .jax_jit_ms = number(row, "jax_jit_ms"),
                    .torch_compile_cold_ms = number(row, "torch_compile_cold_ms"),
                    .jax_jit_cold_ms = number(row, "jax_jit_cold_ms")};
  return run;
}

}  // namespace kiln::perf
