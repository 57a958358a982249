// kiln-bench: the workloads of ../shared/WORKLOADS.md with kiln eager, kiln compiled and
// libtorch eager side by side, at each thread count, same inputs, outputs checked against
// kiln eager before anything is timed.
// Runners are timed interleaved and speedups are medians of per-round ratios. Prints a
// table; --json writes every figure with the machine facts.
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "kiln/kiln.h"
#include "runtime/allocator.h"
#include "commit.h"
#include "libtorch_baseline.h"
#include "overhead.h"
#include "plot.h"
#include "timing.h"
#include "workloads.h"

namespace {

struct Options {
  std::vector<int> threads = {1, 2};
  std::vector<std::string> filter;
  double budget_s = 2.0;
  bool list = false;
  std::string json_path;
  std::string plot_path;
  std::string libtorch = "tuned";
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
             "[--budget SECONDS] [--json out.json] [--plot out.svg] [--libtorch stock|tuned] [--list]\n",
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
    else if (arg == "--plot") o.plot_path = value();
    else if (arg == "--list") o.list = true;
    else if (arg == "--libtorch") {
      o.libtorch = value();
      if (o.libtorch != "stock" && o.libtorch != "tuned") usage("--libtorch takes stock or tuned");
    } else usage(fmt::format("unknown argument '{}'", arg));
  }
  return o;
}

// The tuned libtorch settings must be in the environment before libtorch and OpenBLAS
// start (see ../shared/WORKLOADS.md), so kiln-bench re-executes itself with them. Passive
// OpenMP waiting is part of tuned: with spinning workers, libtorch's threads keep both
// cores busy after each call, which slows libtorch's own nested BLAS calls (W6: 6.4 ms
// spinning, 1.8 ms passive at 2 threads here) and whatever runs next.
void ensure_tuned_environment(const Options &o, char **argv) {
  if (!kiln::perf::libtorch_available() || o.libtorch != "tuned") return;
  if (std::getenv("OPENBLAS_CORETYPE") && std::getenv("ATEN_CPU_CAPABILITY") && std::getenv("OMP_WAIT_POLICY"))
    return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
  setenv("ATEN_CPU_CAPABILITY", "avx512", 0);
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  execv("/proc/self/exe", argv);
  fmt::print(stderr, "kiln-bench: could not re-execute with tuned libtorch settings: {}\n", std::strerror(errno));
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

kiln::perf::RawTensor raw(const kiln::Tensor &t) {
  return {t.sizes(), t.to(kiln::DType::F32).tolist<float>()};
}

kiln::Tensor from_raw(const kiln::perf::RawTensor &r) { return kiln::from_vector(r.data, r.shape); }

nlohmann::json or_null(double v, bool present) { return present ? nlohmann::json(v) : nlohmann::json(); }

std::string cell(double v, bool present, const char *format = "{:.3f}") {
  return present ? fmt::format(fmt::runtime(format), v) : "n/a";
}

}  // namespace

int main(int argc, char **argv) {
  Options opt = parse(argc, argv);
  ensure_tuned_environment(opt, argv);
  std::vector<kiln::perf::Workload> workloads = kiln::perf::eager_workloads();
  if (opt.list) {
    for (const auto &w : workloads) fmt::print("{}  {}\n", w.id, w.description);
    return 0;
  }
  const bool torch = kiln::perf::libtorch_available();
  nlohmann::json results = nlohmann::json::array();
  nlohmann::json machine = {{"cpu", cpu_model()},
                            {"cores", std::thread::hardware_concurrency()},
                            {"compiler", __VERSION__},
                            {"kiln_commit", KILN_COMMIT},
                            {"libtorch", torch ? kiln::perf::libtorch_version() : ""},
                            {"libtorch_config", torch ? opt.libtorch : ""}};
  fmt::print("kiln-bench on {}, {} cores, budget {:.2f} s per row; libtorch: {}\n", cpu_model(),
             std::thread::hardware_concurrency(), opt.budget_s,
             torch ? fmt::format("{} ({})", kiln::perf::libtorch_version(), opt.libtorch) : "not built in");
  for (int threads : opt.threads) {
    kiln::set_num_threads(threads);
    kiln::perf::libtorch_set_threads(threads);
    const double triad = kiln::perf::stream_triad_gbs(std::min(opt.budget_s, 1.0));
    // The GEMM peak is libtorch's (OpenBLAS) when present, else kiln's own.
    const double gemm_peak = torch ? kiln::perf::libtorch_gemm_gflops(std::min(opt.budget_s, 1.0))
                                   : kiln::perf::kiln_gemm_gflops(std::min(opt.budget_s, 1.0));
    machine[fmt::format("stream_triad_gbs_{}t", threads)] = triad;
    machine[fmt::format("gemm_peak_gflops_{}t", threads)] = gemm_peak;
    fmt::print("\nthreads {}: STREAM triad {:.1f} GB/s, GEMM peak {:.0f} GFLOP/s ({})\n", threads, triad,
               gemm_peak, torch ? "libtorch sgemm 2048^3" : "kiln matmul 2048^3");
    fmt::print("{:<4} {:>12} {:>12} {:>12} {:>9} {:>9} {:>10} {:>11}  {}\n", "id", "eager ms", "compiled ms",
               "libtorch ms", "vs eager", "vs torch", "of limit", "compile ms", "workload");
    for (const auto &w : workloads) {
      if (!opt.filter.empty() && std::find(opt.filter.begin(), opt.filter.end(), w.id) == opt.filter.end())
        continue;
      kiln::manual_seed(0);
      std::vector<kiln::Tensor> inputs = w.make_inputs();
      auto compiled = kiln::compile(w.run, {.name = w.id, .arg_names = {"inputs"}});
      const auto t0 = std::chrono::steady_clock::now();
      kiln::Tensor got = compiled(inputs);
      const double first_call_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      kiln::Tensor want = w.run(inputs);
      const double tol = 1e-4;
      if (!kiln::all(kiln::abs(got - want) <= tol + tol * kiln::abs(want)).item<bool>())
        fmt::print(stderr, "{}: compiled output differs from eager beyond {}\n", w.id, tol);

      std::vector<std::function<void()>> runners = {[&] { (void)w.run(inputs); },
                                                    [&] { (void)compiled(inputs); }};
      kiln::perf::TorchRunner torch_runner;
      if (torch) {
        std::vector<kiln::perf::RawTensor> raws;
        for (const kiln::Tensor &t : inputs) raws.push_back(raw(t));
        torch_runner = kiln::perf::libtorch_workload(w.id, raws);
        kiln::Tensor theirs = from_raw(torch_runner.output());
        if (!kiln::all(kiln::abs(theirs - want) <= tol + tol * kiln::abs(want)).item<bool>())
          fmt::print(stderr, "{}: libtorch output differs from kiln eager beyond {}\n", w.id, tol);
        runners.push_back(torch_runner.run);
      }
      for (auto &r : runners) r();  // warm-up
      // Peak memory of one call each, eager and compiled, from the caching allocator.
      auto peak_of = [](const std::function<void()> &run) {
        kiln::runtime::reset_peak_live_bytes();
        const int64_t before = kiln::runtime::allocator_stats().live_bytes;
        run();
        return kiln::runtime::allocator_stats().peak_live_bytes - before;
      };
      const int64_t peak_eager = peak_of(runners[0]), peak_compiled = peak_of(runners[1]);
      std::vector<kiln::perf::Timing> t = kiln::perf::measure_interleaved(runners, opt.budget_s);
      const double compiled_s = t[1].median_ms * 1e-3;
      const double speedup_eager = kiln::perf::median_ratio(t[0], t[1]);
      const double speedup_torch = torch ? kiln::perf::median_ratio(t[2], t[1]) : 0.0;
      const double fraction = w.bytes > 0 ? w.bytes / compiled_s / 1e9 / triad
                                           : w.flops / compiled_s / 1e9 / gemm_peak;
      const bool has_limit = w.bytes > 0 || (w.flops > 1e8 && gemm_peak > 0);
      const double cold_compile_ms = std::max(0.0, first_call_ms - t[1].median_ms);
      int kernels = 0, library_steps = 0;  // per call, summed over entries (one here)
      for (const auto &e : kiln::explain(compiled, inputs).entries) {
        kernels += e.kernels;
        library_steps += e.library_steps;
      }
      fmt::print("{:<4} {:>12.3f} {:>12.3f} {:>12} {:>8.2f}x {:>9} {:>10} {:>11.2f}  {}\n", w.id, t[0].median_ms,
                 t[1].median_ms, cell(torch ? t[2].median_ms : 0, torch), speedup_eager,
                 cell(speedup_torch, torch, "{:.2f}x"), cell(100 * fraction, has_limit, "{:.0f}%"),
                 cold_compile_ms, w.description);
      results.push_back({{"workload", w.id},
                         {"threads", threads},
                         {"kiln_eager_ms", t[0].median_ms},
                         {"kiln_compiled_ms", t[1].median_ms},
                         {"libtorch_eager_ms", or_null(torch ? t[2].median_ms : 0, torch)},
                         {"speedup_vs_kiln_eager", speedup_eager},
                         {"speedup_vs_libtorch", or_null(speedup_torch, torch)},
                         {"fraction_of_limit", or_null(fraction, has_limit)},
                         {"peak_bytes_eager", peak_eager},
                         {"peak_bytes_compiled", peak_compiled},
                         {"cold_compile_ms", cold_compile_ms},
                         {"warm_compile_ms", nullptr},
                         {"kernels", kernels},
                         {"library_steps", library_steps},
                         {"runs", t[0].runs},
                         {"kiln_eager_min_ms", t[0].min_ms},
                         {"kiln_eager_max_ms", t[0].max_ms},
                         {"kiln_compiled_min_ms", t[1].min_ms},
                         {"kiln_compiled_max_ms", t[1].max_ms}});
    }
  }
  nlohmann::json overhead = kiln::perf::run_overhead(std::min(opt.budget_s, 0.5));
  if (!opt.json_path.empty()) {
    std::ofstream out(opt.json_path);
    out << nlohmann::json{{"machine", machine}, {"results", results}, {"overhead", overhead}}.dump(2) << "\n";
    fmt::print("\nwrote {}\n", opt.json_path);
  }
  if (!opt.plot_path.empty() && kiln::perf::plot_speedups(results, opt.plot_path))
    fmt::print("wrote {}\n", opt.plot_path);
  return 0;
}
