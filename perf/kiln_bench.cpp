// kiln-bench: times the eager workloads W1-W6 at each thread count and prints median ms,
// spread, and achieved GB/s or GFLOP/s (with the fraction of STREAM-triad bandwidth for
// memory-bound workloads). --json writes every figure for scripts.
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "kiln/kiln.h"
#include "overhead.h"
#include "timing.h"
#include "workloads.h"

namespace {

struct Options {
  std::vector<int> threads = {1, 2};
  std::vector<std::string> filter;
  double budget_s = 2.0;
  bool list = false;
  std::string json_path;
};

std::vector<std::string> split_list(const std::string &s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

[[noreturn]] void usage(const std::string &problem) {
  fmt::print(stderr,
             "kiln-bench: {}\nusage: kiln-bench [--threads 1,2] [--filter W1,W3] [--quick] "
             "[--budget SECONDS] [--json out.json] [--list]\n",
             problem);
  std::exit(2);
}

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--threads") {
      o.threads.clear();
      for (const std::string &t : split_list(value())) {
        int n = std::atoi(t.c_str());
        if (n < 1) usage(fmt::format("bad thread count '{}'", t));
        o.threads.push_back(n);
      }
    } else if (arg == "--filter") o.filter = split_list(value());
    else if (arg == "--quick") o.budget_s = 0.05;
    else if (arg == "--budget") o.budget_s = std::atof(value().c_str());
    else if (arg == "--json") o.json_path = value();
    else if (arg == "--list") o.list = true;
    else usage(fmt::format("unknown argument '{}'", arg));
  }
  return o;
}

bool selected(const Options &o, const std::string &id) {
  return o.filter.empty() || std::find(o.filter.begin(), o.filter.end(), id) != o.filter.end();
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace

int main(int argc, char **argv) {
  Options opt = parse(argc, argv);
  std::vector<kiln::perf::Workload> workloads = kiln::perf::eager_workloads();
  if (opt.list) {
    for (const auto &w : workloads) fmt::print("{}  {}\n", w.id, w.description);
    return 0;
  }
  nlohmann::json results = nlohmann::json::array();
  nlohmann::json machine = {{"cpu", cpu_model()},
                            {"cores", std::thread::hardware_concurrency()},
                            {"compiler", __VERSION__}};
  fmt::print("kiln-bench (eager) on {}, {} cores, budget {:.2f} s per row\n", cpu_model(),
             std::thread::hardware_concurrency(), opt.budget_s);
  for (int threads : opt.threads) {
    kiln::set_num_threads(threads);
    const double triad = kiln::perf::stream_triad_gbs(std::min(opt.budget_s, 1.0));
    machine[fmt::format("stream_triad_gbs_{}t", threads)] = triad;
    fmt::print("\nthreads {}: STREAM triad {:.1f} GB/s\n", threads, triad);
    fmt::print("{:<4} {:>10} {:>21} {:>5}  {:>14} {:>9}  {}\n", "id", "median ms", "min..max ms",
               "runs", "throughput", "of triad", "workload");
    for (const auto &w : workloads) {
      if (!selected(opt, w.id)) continue;
      kiln::manual_seed(0);
      std::vector<kiln::Tensor> inputs = w.make_inputs();
      kiln::perf::Timing t = kiln::perf::measure([&] { (void)w.run(inputs); }, opt.budget_s);
      const double s = t.median_ms * 1e-3;
      std::string throughput = w.bytes > 0 ? fmt::format("{:.1f} GB/s", w.bytes / s / 1e9)
                                           : fmt::format("{:.1f} GFLOP/s", w.flops / s / 1e9);
      std::string fraction = w.bytes > 0 ? fmt::format("{:.0f}%", 100 * w.bytes / s / 1e9 / triad) : "";
      fmt::print("{:<4} {:>10.3f} {:>10.3f}..{:<10.3f} {:>5}  {:>14} {:>9}  {}\n", w.id, t.median_ms,
                 t.min_ms, t.max_ms, t.runs, throughput, fraction, w.description);
      results.push_back({{"workload", w.id},
                         {"threads", threads},
                         {"kiln_eager_ms", t.median_ms},
                         {"kiln_eager_min_ms", t.min_ms},
                         {"kiln_eager_max_ms", t.max_ms},
                         {"runs", t.runs},
                         {"gbs", w.bytes > 0 ? nlohmann::json(w.bytes / s / 1e9) : nlohmann::json()},
                         {"gflops", w.flops > 0 ? nlohmann::json(w.flops / s / 1e9) : nlohmann::json()}});
    }
  }
  nlohmann::json overhead = kiln::perf::run_overhead(std::min(opt.budget_s, 0.5));
  if (!opt.json_path.empty()) {
    std::ofstream out(opt.json_path);
    out << nlohmann::json{{"machine", machine}, {"results", results}, {"overhead", overhead}}.dump(2) << "\n";
    fmt::print("\nwrote {}\n", opt.json_path);
  }
  return 0;
}
