// kiln-bench: the workloads of ../shared/WORKLOADS.md with kiln eager, kiln compiled and
// libtorch eager side by side, at each thread count, same inputs, outputs checked against
// kiln eager before anything is timed; a wrong answer stops the run with exit status 1.
// Runners are timed interleaved and speedups are medians of per-round ratios. Prints a
// table; --json writes every figure with the machine facts.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "cache/disk_cache.h"
#include "cache/remote_cache.h"
#include "cache/store.h"
#include "commit.h"
#include "ir/settings.h"
#include "kiln/kiln.h"
#include "libtorch_baseline.h"
#include "libtorch_stock.h"
#include "overhead.h"
#include "plot.h"
#include "python_peers.h"
#include "runtime/allocator.h"
#include "timing.h"
#include "tools/cli.h"
#include "training_workloads.h"
#include "workloads.h"

namespace {

using kiln::perf::Workload;

struct Options {
  std::vector<int> threads = {1, 2};
  std::vector<std::string> filter;
  double budget_s = 2.0;
  bool list = false;
  bool libtorch_only = false;  // the stock child of --libtorch both (libtorch_stock.h)
  std::string json_path;
  std::string plot_path;
  std::string libtorch = "tuned";
  std::string cache_dir;                       // "": a fresh temporary folder, removed at exit
  std::optional<kiln::AutotuneMode> autotune;  // unset: compile()'s default, or KILN_AUTOTUNE
  bool vs_untuned = false;   // also time the same function compiled with autotune off
  bool dynamic = false;      // also time a symbolic entry at the workload's sizes
  std::string cache_remote;  // --cache-remote: a Redis URL for the 'remote ms' column
  std::string peers = "torch_compile,jax";  // --peers: perf/peers.py's list, "none" to skip it
  kiln::RemoteCacheSettings remote;         // KILN_CACHE_REMOTE_* (password, key) with that URL
};

namespace cli = kiln::cli;

cli::Parser make_parser(Options &o) {
  cli::Parser p("kiln-bench", "kiln-bench [options]",
                "Times the benchmark workloads (--list) with kiln eager, kiln compiled and\n"
                "libtorch eager side by side at each thread count, on the same inputs; every\n"
                "output is checked against kiln eager before anything is timed.");
  p.option("--threads", "1,2", "thread counts to run at (default 1,2)", [&o](std::string_view v) {
    o.threads.clear();
    for (const std::string &t : cli::split_list(v))
      o.threads.push_back(cli::parse_integer<int>(t, 1, kiln::kMaxThreads));
    if (o.threads.empty()) cli::usage_error("expected a list of thread counts, got '{}'", v);
  });
  p.option("--filter", "W1,W3", "run only these workloads (see --list)", [&o](std::string_view v) {
    std::vector<std::string> ids;
    for (const Workload &w : kiln::perf::eager_workloads()) ids.push_back(w.id);
    for (const auto &w : kiln::perf::training_workloads()) ids.push_back(w.id);
    o.filter = cli::split_list(v);
    for (const std::string &id : o.filter)
      if (std::find(ids.begin(), ids.end(), id) == ids.end())
        cli::usage_error("unknown workload '{}': expected one of {}", id, fmt::join(ids, ", "));
  });
  p.flag("--quick", "a short budget per measurement (0.05 s), for smoke tests",
         [&o] { o.budget_s = 0.05; });
  p.option("--cache-dir", "DIR",
           "the disk cache's folder (default: a fresh temporary one, removed at exit);\n"
           "each row starts from an empty sub-folder: 'compile ms' is a cold first call,\n"
           "'warm ms' a second compile() of the same function served by the cache",
           [&o](std::string_view v) { o.cache_dir = v; });
  p.option("--cache-remote", "URL",
           "a Redis server (redis://host:port/db) for a 'remote ms' column: after the\n"
           "warm compile, the row's entries are published there and a third compile()\n"
           "with an empty disk folder loads them (KILN_CACHE_REMOTE is otherwise ignored:\n"
           "a cold compile must not be served from Redis)",
           [&o](std::string_view v) {
             std::string why;
             if (!kiln::cache::parse_remote_url(v, why)) cli::usage_error("{}", why);
             o.cache_remote = v;
           });
  p.option("--peers", "LIST",
           "Python peers timed by perf/peers.py in a child process per thread count, on\n"
           "the same workload definitions (its own inputs, checked against float64 numpy):\n"
           "torch (2.x eager), torch_compile, torch_compile_max (max-autotune: minutes per\n"
           "row), jax; 'none' skips them (default torch_compile,jax; a peer that does not\n"
           "import reads n/a). Columns 't.compile ms', 'vs t.compile', 'jax ms', 'vs jax'",
           [&o](std::string_view v) {
             const std::vector<std::string> known = {"torch", "torch_compile", "torch_compile_max",
                                                     "jax"};
             if (v != "none")
               for (const std::string &peer : cli::split_list(v))
                 if (std::find(known.begin(), known.end(), peer) == known.end())
                   cli::usage_error("unknown peer '{}': expected none or a list of {}", peer,
                                    fmt::join(known, ", "));
             o.peers = v;
           });
  p.option("--autotune", "off|default|max",
           "how hard the compiled column's compile() searches (this overrides\n"
           "KILN_AUTOTUNE; without it, KILN_AUTOTUNE or compile()'s default, default)",
           [&o](std::string_view v) {
             if (v == "off")
               o.autotune = kiln::AutotuneMode::Off;
             else if (v == "default")
               o.autotune = kiln::AutotuneMode::Default;
             else if (v == "max")
               o.autotune = kiln::AutotuneMode::Max;
             else
               cli::usage_error("expected off, default or max, got '{}'", v);
           });
  p.flag("--vs-untuned",
         "also time each workload compiled with autotune off, interleaved with the rest:\n"
         "columns 'untuned ms' and 'vs untuned' (untuned time / compiled time)",
         o.vs_untuned);
  p.flag("--dynamic",
         "also time W2, W3 and W8 run by a dynamic (symbolic) entry: compile() called at\n"
         "other sizes first, then at the workload's own: columns 'dyn ms' and 'dyn/static'\n"
         "(dynamic time / compiled time; 1.00 is as fast as the static entry)",
         o.dynamic);
  p.option("--budget", "SECONDS", "time budget per measurement (default 2)",
           [&o](std::string_view v) { o.budget_s = cli::parse_number_above(v, 0); });
  p.option("--json", "out.json", "also write every figure with the machine facts as JSON",
           [&o](std::string_view v) { o.json_path = v; });
  p.option("--plot", "out.svg", "also draw the speedups as an SVG chart",
           [&o](std::string_view v) { o.plot_path = v; });
  p.option("--libtorch", "stock|tuned|both", "libtorch baseline settings (default tuned)",
           [&o](std::string_view v) {
             if (v != "stock" && v != "tuned" && v != "both")
               cli::usage_error("expected stock, tuned or both, got '{}'", v);
             o.libtorch = v;
           });
  p.flag("--list", "print the workloads and exit", o.list);
  p.flag("--libtorch-only", "", o.libtorch_only);  // the stock child of --libtorch both
  p.exit_codes({{cli::kExitOk, "success"},
                {cli::kExitCheckFailed, "a wrong answer: an output differs from kiln eager"},
                {cli::kExitUsage, "usage error: unknown option or bad option value"},
                {cli::kExitBadInput, "kiln rejected a workload (a kiln::Error)"},
                {cli::kExitInternal, "internal error (a bug in kiln) or out of memory"}});
  return p;
}

// The tuned libtorch settings must be in the environment before libtorch and OpenBLAS
// start (see ../shared/WORKLOADS.md), so kiln-bench re-executes itself with them. Passive
// OpenMP waiting is part of tuned: with spinning workers, libtorch's threads keep both
// cores busy after each call, which slows libtorch's own nested BLAS calls (W6: 6.4 ms
// spinning, 1.8 ms passive at 2 threads here) and whatever runs next. --libtorch both runs
// tuned here and stock in a child process started without them.
// The ISA settings are per host and never name an ISA the host lacks (that dies with SIGILL):
// AVX-512 kernels for ATen and OpenBLAS (SkylakeX: measured faster than the Zen kernels it picks
// on Zen 4) only where the host has AVX-512 F/BW/DQ/VL; elsewhere both pick their own (on an
// AVX2 Zen 3, OpenBLAS picks its Zen kernels).
std::vector<std::pair<std::string, std::string>> tuned_settings() {
  std::vector<std::pair<std::string, std::string>> out = {{"OMP_WAIT_POLICY", "PASSIVE"}};
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    out.emplace_back("OPENBLAS_CORETYPE", "SkylakeX");
    out.emplace_back("ATEN_CPU_CAPABILITY", "avx512");
  }
#endif
  return out;
}

// ": OMP_WAIT_POLICY=PASSIVE, …" for the settings this run's libtorch started with.
std::string tuned_text(const Options &o) {
  if (o.libtorch == "stock") return "";
  std::vector<std::string> words;
  for (const auto &[name, value] : tuned_settings()) words.push_back(name + "=" + value);
  return fmt::format(": {}", fmt::join(words, ", "));
}

void ensure_tuned_environment(const Options &o, char **argv) {
  if (!kiln::perf::libtorch_available() || o.libtorch == "stock") return;
  bool missing = false;
  for (const auto &[name, value] : tuned_settings()) {
    missing = missing || std::getenv(name.c_str()) == nullptr;
    setenv(name.c_str(), value.c_str(), 0);
  }
  if (!missing) return;
  execv("/proc/self/exe", argv);
  fmt::print(stderr, "kiln-bench: could not re-execute with tuned libtorch settings: {}\n",
             std::strerror(errno));
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

// The host's widest vector ISA, as kiln-bench's JSON names it: "avx512", "avx2" or "sse".
std::string host_isa() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0)
      return line.find(" avx512f") != std::string::npos ? "avx512"
             : line.find(" avx2") != std::string::npos  ? "avx2"
                                                        : "sse";
  return "unknown";
}

// The compiler of this build (kiln and kiln-bench are built together), by name and version.
std::string compiler_name() {
#if defined(__clang__)
  return fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("GCC {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return __VERSION__;
#endif
}

bool selected(const Options &opt, const std::string &id) {
  return opt.filter.empty() ||
         std::find(opt.filter.begin(), opt.filter.end(), id) != opt.filter.end();
}
bool selected(const Options &opt, const Workload &w) { return selected(opt, w.id); }

kiln::perf::RawTensor raw(const kiln::Tensor &t) {
  return {t.sizes(), t.to(kiln::DType::F32).tolist<float>()};
}

kiln::Tensor from_raw(const kiln::perf::RawTensor &r) { return kiln::from_vector(r.data, r.shape); }

nlohmann::json or_null(double v, bool present) {
  return present ? nlohmann::json(v) : nlohmann::json();
}

std::string cell(double v, bool present, const char *format = "{:.3f}") {
  return present ? fmt::format(fmt::runtime(format), v) : "n/a";
}

constexpr double kTolerance = 1e-4;

// "" when |got - want| <= tol + tol * |want| everywhere (NaN only against NaN), else the
// largest error and where it is.
std::string mismatch(const kiln::Tensor &got, const kiln::Tensor &want, double tol) {
  if (got.sizes() != want.sizes())
    return fmt::format("shape mismatch: expected {}, got {}", kiln::format_shape(want.sizes()),
                       kiln::format_shape(got.sizes()));
  const std::vector<float> g = raw(got).data, w = raw(want).data;
  bool wrong = false;
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const bool same = g[i] == w[i] || (std::isnan(g[i]) && std::isnan(w[i]));
    const double error = same ? 0.0 : std::abs(static_cast<double>(g[i]) - w[i]);
    wrong = wrong || !(error <= tol + tol * std::abs(w[i]));
    if (!(error <= worst)) worst = error, at = i;  // NaN against a number counts as worst
  }
  if (!wrong) return "";
  return fmt::format(
      "largest error {:.3g} at element {}: expected {}, got {} (tolerance {} + {}*|expected|)",
      worst, at, w[at], g[at], tol, tol);
}

// A wrong answer is not a benchmark result: stop (main prints this and exits 1).
void check_answer(const Workload &w, std::string_view runner, const kiln::Tensor &got,
                  const kiln::Tensor &want) {
  if (std::string m = mismatch(got, want, kTolerance); !m.empty())
    throw cli::CheckFailed(
        fmt::format("kiln-bench: {}: {} output differs from kiln eager: {}", w.id, runner, m));
}

// libtorch's runner for w on copies of inputs, its output checked against kiln eager's.
kiln::perf::TorchRunner checked_torch_runner(const Workload &w,
                                             const std::vector<kiln::Tensor> &inputs,
                                             const kiln::Tensor &want, std::string_view runner) {
  std::vector<kiln::perf::RawTensor> raws;
  for (const kiln::Tensor &t : inputs) raws.push_back(raw(t));
  kiln::perf::TorchRunner r = kiln::perf::libtorch_workload(w.id, raws);
  check_answer(w, runner, from_raw(r.output()), want);
  return r;
}

// The rate a run of `ms` reaches on w's least work (WORKLOADS.md): GB/s for memory-bound
// rows, GFLOP/s for GEMM-bound ones. W5's few FLOPs are overhead-bound and give no rate.
enum class RateKind { None, Bandwidth, Compute };

RateKind rate_kind(const Workload &w) {
  return w.bytes > 0 ? RateKind::Bandwidth : w.flops > 1e8 ? RateKind::Compute : RateKind::None;
}

double rate(const Workload &w, double ms) {
  return (w.bytes > 0 ? w.bytes : w.flops) / (ms * 1e-3) / 1e9;
}

std::string rate_cell(RateKind kind, double v) {
  switch (kind) {
    case RateKind::None: return "n/a";
    case RateKind::Bandwidth: return fmt::format("{:.3g} GB/s", v);
    case RateKind::Compute: return fmt::format("{:.3g} GFLOP/s", v);
  }
  return "n/a";
}

// The table: the id left-aligned, figures right-aligned, the description last. The stock
// libtorch columns appear only with --libtorch both.
struct Table {
  bool stock = false;
  bool untuned = false;  // --vs-untuned: 'untuned ms' and 'vs untuned' after 'vs torch'
  bool dynamic = false;  // --dynamic: 'dyn ms' and 'dyn/static' after those
  bool remote = false;   // --cache-remote: 'remote ms' after 'warm ms'
  bool peers = false;    // --peers: torch.compile and jax.jit before 'eager rate'
  // Where the peers' cells go: after the speedups (and the untuned pair).
  size_t peers_at() const { return (stock ? 8 : 6) + (untuned ? 2 : 0) + (dynamic ? 2 : 0); }
  std::vector<int> widths() const {
    std::vector<int> w = stock ? std::vector<int>{7, 11, 12, 12, 12, 9, 9, 9, 15, 15, 9, 11, 8}
                               : std::vector<int>{7, 11, 12, 12, 9, 9, 15, 15, 9, 11, 8};
    if (untuned) w.insert(w.begin() + (stock ? 8 : 6), {12, 10});
    if (dynamic) w.insert(w.begin() + (stock ? 8 : 6) + (untuned ? 2 : 0), {10, 10});
    if (peers) w.insert(w.begin() + static_cast<std::ptrdiff_t>(peers_at()), {12, 12, 9, 9});
    if (remote) w.push_back(9);
    return w;
  }
  void print(const std::vector<std::string> &cells) const {
    const std::vector<int> w = widths();
    std::string line = fmt::format("{:<{}}", cells[0], w[0]);
    for (size_t i = 1; i < w.size(); ++i) line += fmt::format(" {:>{}}", cells[i], w[i]);
    fmt::print("{}  {}\n", line, cells.back());
  }
  void header() const {
    std::vector<std::string> cells =
        stock
            ? std::vector<std::string>{"id",         "eager ms",      "compiled ms", "libtorch ms",
                                       "stock ms",   "vs eager",      "vs torch",    "vs stock",
                                       "eager rate", "compiled rate", "of limit",    "compile ms",
                                       "warm ms",    "workload"}
            : std::vector<std::string>{"id",       "eager ms",   "compiled ms", "libtorch ms",
                                       "vs eager", "vs torch",   "eager rate",  "compiled rate",
                                       "of limit", "compile ms", "warm ms",     "workload"};
    if (untuned) cells.insert(cells.begin() + (stock ? 8 : 6), {"untuned ms", "vs untuned"});
    if (dynamic)
      cells.insert(cells.begin() + (stock ? 8 : 6) + (untuned ? 2 : 0), {"dyn ms", "dyn/static"});
    if (peers)
      cells.insert(cells.begin() + static_cast<std::ptrdiff_t>(peers_at()),
                   {"t.compile ms", "vs t.compile", "jax ms", "vs jax"});
    if (remote) cells.insert(cells.end() - 1, "remote ms");
    print(cells);
  }
};

// The GEMM limit: the fastest of several measured 2048^3 sgemms (kiln's eager and generated
// kernels, libtorch's when present), so one slow kernel cannot make a limit below what a row
// reaches.
struct GemmPeak {
  double gflops = 0;
  std::string source;  // "kiln compiled sgemm 2048^3, fastest of kiln eager 80, ..."
};

GemmPeak measure_gemm_peak(bool torch, double budget_s) {
  const kiln::perf::GemmRates kiln_rates = kiln::perf::kiln_gemm_gflops(budget_s);
  std::vector<std::pair<std::string, double>> rates = {{"kiln eager", kiln_rates.eager},
                                                       {"kiln compiled", kiln_rates.compiled}};
  if (torch) {
    rates.emplace_back("libtorch", kiln::perf::libtorch_gemm_gflops(budget_s));
    // Debian's libtorch calls whichever libblas.so.3 the alternatives system picks; with
    // only the reference BLAS installed its matmuls run ~30x slower than they can.
    if (rates.back().second < 0.2 * std::max(kiln_rates.eager, kiln_rates.compiled))
      fmt::print(
          "warning: libtorch's sgemm reaches {:.0f} GFLOP/s, far below kiln's: its BLAS is "
          "likely Debian's reference libblas3, not a baseline at its best\n"
          "  hint: apt-get install libopenblas0-pthread (then libblas.so.3 is OpenBLAS)\n",
          rates.back().second);
  }
  auto best = std::max_element(rates.begin(), rates.end(),
                               [](const auto &a, const auto &b) { return a.second < b.second; });
  std::vector<std::string> all;
  for (const auto &[name, gflops] : rates) all.push_back(fmt::format("{} {:.0f}", name, gflops));
  return {best->second,
          fmt::format("{} sgemm 2048^3, fastest of {}", best->first, fmt::join(all, ", "))};
}

struct Context {
  const Options &opt;
  bool torch = false;
  int threads = 1;
  double triad = 0, gemm_peak = 0;
  const kiln::perf::StockTimes &stock;
  std::string cache_base;  // each row's disk cache is a fresh folder under it
  Table table;
  const kiln::perf::PeerRun *peers = nullptr;  // --peers: perf/peers.py at this thread count
};

// The Python peers' figures for a row, and their ratios to kiln compiled's median (another
// process: ratios of medians, not per round).
struct PeerCells {
  kiln::perf::PeerTimes t;  // all unset where there are no peers
  double compiled_ms = 0;
  static std::optional<double> ratio(std::optional<double> ms, double compiled) {
    return ms ? std::optional<double>(*ms / compiled) : std::nullopt;
  }
  std::vector<std::string> cells() const {
    auto ms = [](std::optional<double> v) { return v ? fmt::format("{:.3f}", *v) : "n/a"; };
    auto x = [](std::optional<double> v) { return v ? fmt::format("{:.2f}x", *v) : "n/a"; };
    return {ms(t.torch_compile_ms), x(ratio(t.torch_compile_ms, compiled_ms)), ms(t.jax_jit_ms),
            x(ratio(t.jax_jit_ms, compiled_ms))};
  }
  void add_json(nlohmann::json &row) const {
    auto j = [](std::optional<double> v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
    row["torch2_eager_ms"] = j(t.torch_eager_ms);
    row["torch_compile_ms"] = j(t.torch_compile_ms);
    row["torch_compile_max_ms"] = j(t.torch_compile_max_ms);
    row["jax_jit_ms"] = j(t.jax_jit_ms);
    row["torch_compile_cold_ms"] = j(t.torch_compile_cold_ms);
    row["jax_jit_cold_ms"] = j(t.jax_jit_cold_ms);
    row["speedup_vs_torch2_eager"] = j(ratio(t.torch_eager_ms, compiled_ms));
    row["speedup_vs_torch_compile"] = j(ratio(t.torch_compile_ms, compiled_ms));
    row["speedup_vs_torch_compile_max"] = j(ratio(t.torch_compile_max_ms, compiled_ms));
    row["speedup_vs_jax"] = j(ratio(t.jax_jit_ms, compiled_ms));
  }
};

PeerCells peer_cells(const Context &c, const std::string &id, double compiled_ms) {
  PeerCells p{.compiled_ms = compiled_ms};
  if (c.peers == nullptr) return p;
  if (const auto it = c.peers->rows.find(id); it != c.peers->rows.end()) p.t = it->second;
  return p;
}

// The first call of a compile() whose artifact comes from Redis (--cache-remote): the row's
// disk entries are published (a second machine's view of what this one compiled), then a new
// function object compiles with an empty disk folder. Trace and passes, then the load.
double remote_warm_ms(const Workload &w, const kiln::CompileOptions &options,
                      const std::vector<kiln::Tensor> &inputs, const std::string &cache_dir,
                      const Options &opt) {
  const kiln::RemoteCacheSettings &settings = opt.remote;
  std::string why;
  std::unique_ptr<kiln::cache::RemoteCache> remote = kiln::cache::RemoteCache::open(settings, why);
  std::shared_ptr<kiln::cache::DiskCache> disk = kiln::cache::DiskCache::open(cache_dir, 0, why);
  if (!remote || !disk) kiln::fail("kiln-bench: --cache-remote: {}", why);
  const kiln::cache::PushResult pushed = kiln::cache::push(*disk, *remote);
  if (!pushed.fault.empty())
    kiln::fail("kiln-bench: --cache-remote {}: {}", remote->url(), pushed.fault);
  const std::string empty_dir = cache_dir + "-remote";
  std::filesystem::remove_all(empty_dir);
  kiln::set_cache_dir(empty_dir);
  kiln::set_remote_cache_settings(settings);
  auto from_redis = kiln::compile(w.run, options);
  (void)from_redis(inputs);
  kiln::set_remote_cache_settings({});
  kiln::set_cache_dir(cache_dir);
  const kiln::Explanation ex = kiln::explain(from_redis, inputs);
  if (ex.entries.empty() || !ex.entries.front().origin.starts_with("loaded from Redis"))
    kiln::fail("kiln-bench: --cache-remote: {} was not loaded from {} ({})", w.id, remote->url(),
               ex.entries.empty() ? "it ran eagerly" : ex.entries.front().origin);
  return ex.entries.front().compile_ms;
}

// One row: check the answers, time the runners interleaved, print and return the figures.
nlohmann::json bench_row(const Workload &w, const Context &c) {
  kiln::manual_seed(0);
  std::vector<kiln::Tensor> inputs = w.make_inputs();
  const std::string cache_dir = fmt::format("{}/{}-t{}", c.cache_base, w.id, c.threads);
  std::filesystem::remove_all(cache_dir);
  kiln::set_cache_dir(cache_dir);  // empty: the first call compiles cold
  kiln::CompileOptions options{.name = w.id, .arg_names = {"inputs"}};
  if (c.opt.autotune) options.autotune = *c.opt.autotune;
  auto compiled = kiln::compile(w.run, options);
  const auto t0 = std::chrono::steady_clock::now();
  kiln::Tensor got = compiled(inputs);
  const double first_call_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  kiln::Tensor want = w.run(inputs);
  check_answer(w, "kiln compiled", got, want);

  std::vector<std::function<void()>> runners = {[&] { (void)w.run(inputs); },
                                                [&] { (void)compiled(inputs); }};
  kiln::perf::TorchRunner torch_runner;
  if (c.torch) {
    torch_runner = checked_torch_runner(w, inputs, want, "libtorch");
    runners.push_back(torch_runner.run);
  }
  // The same function with autotune off (in the same cache folder: its key differs).
  kiln::CompileOptions untuned_options = options;
  untuned_options.name = w.id + "-untuned";
  untuned_options.autotune = kiln::AutotuneMode::Off;
  std::optional<decltype(kiln::compile(w.run, untuned_options))> untuned;
  const size_t untuned_at = runners.size();
  if (c.opt.vs_untuned) {
    untuned.emplace(kiln::compile(w.run, untuned_options));
    check_answer(w, "kiln compiled (autotune off)", (*untuned)(inputs), want);
    runners.push_back([&] { (void)(*untuned)(inputs); });
  }
  // The same function run by a symbolic entry: first called at other sizes, so the call at
  // the workload's sizes recompiles with the changed dims as symbols.
  std::optional<decltype(kiln::compile(w.run, options))> dynamic;
  const size_t dynamic_at = runners.size();
  const bool has_dynamic = c.opt.dynamic && w.other_sizes;
  if (has_dynamic) {
    kiln::CompileOptions dynamic_options = options;
    dynamic_options.name = w.id + "-dynamic";
    dynamic.emplace(kiln::compile(w.run, dynamic_options));
    const std::vector<kiln::Tensor> other = w.other_sizes(inputs);
    check_answer(w, "kiln compiled (other sizes)", (*dynamic)(other), w.run(other));
    check_answer(w, "kiln compiled (dynamic entry)", (*dynamic)(inputs), want);
    const kiln::Explanation ex = kiln::explain(*dynamic, inputs);
    if (ex.entries.size() != 2 || ex.entries[1].symbols == 0)
      kiln::fail("kiln-bench: --dynamic: {} has no symbolic entry ({} entries)", w.id,
                 ex.entries.size());
    runners.push_back([&] { (void)(*dynamic)(inputs); });
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
  std::vector<kiln::perf::Timing> t = kiln::perf::measure_interleaved(runners, c.opt.budget_s);
  const double speedup_eager = kiln::perf::median_ratio(t[0], t[1]);
  const double untuned_ms = c.opt.vs_untuned ? t[untuned_at].median_ms : 0.0;
  const double speedup_untuned =
      c.opt.vs_untuned ? kiln::perf::median_ratio(t[untuned_at], t[1]) : 0.0;
  const double dynamic_ms = has_dynamic ? t[dynamic_at].median_ms : 0.0;
  const double dynamic_ratio = has_dynamic ? kiln::perf::median_ratio(t[dynamic_at], t[1]) : 0.0;
  const double torch_ms = c.torch ? t[2].median_ms : 0.0;
  const double speedup_torch = c.torch ? kiln::perf::median_ratio(t[2], t[1]) : 0.0;
  const auto stock = c.stock.find({w.id, c.threads});
  const bool has_stock = stock != c.stock.end();
  const double stock_ms = has_stock ? stock->second : 0.0;
  // The stock run is another process, so this ratio is of medians, not per round.
  const double speedup_stock = has_stock ? stock_ms / t[1].median_ms : 0.0;
  const RateKind kind = rate_kind(w);
  const double eager_rate = rate(w, t[0].median_ms), compiled_rate = rate(w, t[1].median_ms);
  const bool has_limit =
      kind == RateKind::Bandwidth || (kind == RateKind::Compute && c.gemm_peak > 0);
  const double fraction = compiled_rate / (kind == RateKind::Bandwidth ? c.triad : c.gemm_peak);
  // Above 100%, the limit is wrong for this row, not the rate: flagged, never hidden.
  const bool above_limit = has_limit && fraction > 1.0;
  // Trace, passes and compile of the first call (its run left out); then a second function
  // object: trace and passes again, and the artifact from the disk cache.
  auto compile_ms = [&](const auto &f) {
    const kiln::Explanation ex = kiln::explain(f, inputs);
    return ex.entries.empty() ? std::max(0.0, first_call_ms - t[1].median_ms)
                              : ex.entries.front().compile_ms;
  };
  const double cold_compile_ms = compile_ms(compiled);
  auto again = kiln::compile(w.run, options);
  (void)again(inputs);
  const double warm_compile_ms = compile_ms(again);
  const double remote_warm_compile_ms =
      c.opt.cache_remote.empty() ? 0.0 : remote_warm_ms(w, options, inputs, cache_dir, c.opt);
  int kernels = 0, library_steps = 0;  // per call, summed over entries (one here)
  for (const auto &e : kiln::explain(compiled, inputs).entries) {
    kernels += e.kernels;
    library_steps += e.library_steps;
  }

  std::vector<std::string> cells = {w.id, fmt::format("{:.3f}", t[0].median_ms),
                                    fmt::format("{:.3f}", t[1].median_ms), cell(torch_ms, c.torch)};
  if (c.table.stock) cells.push_back(cell(stock_ms, has_stock));
  cells.push_back(fmt::format("{:.2f}x", speedup_eager));
  cells.push_back(cell(speedup_torch, c.torch, "{:.2f}x"));
  if (c.table.stock) cells.push_back(cell(speedup_stock, has_stock, "{:.2f}x"));
  if (c.table.untuned)
    cells.insert(cells.end(),
                 {fmt::format("{:.3f}", untuned_ms), fmt::format("{:.2f}x", speedup_untuned)});
  if (c.table.dynamic)
    cells.insert(cells.end(),
                 {cell(dynamic_ms, has_dynamic), cell(dynamic_ratio, has_dynamic, "{:.2f}")});
  const PeerCells peers = peer_cells(c, w.id, t[1].median_ms);
  if (c.table.peers) {
    const std::vector<std::string> p = peers.cells();
    cells.insert(cells.end(), p.begin(), p.end());
  }
  cells.insert(cells.end(),
               {rate_cell(kind, eager_rate), rate_cell(kind, compiled_rate),
                cell(100 * fraction, has_limit, above_limit ? "{:.0f}%*" : "{:.0f}%"),
                fmt::format("{:.2f}", cold_compile_ms), fmt::format("{:.2f}", warm_compile_ms)});
  if (c.table.remote) cells.push_back(fmt::format("{:.2f}", remote_warm_compile_ms));
  cells.push_back(w.description);
  c.table.print(cells);

  const bool bandwidth = kind == RateKind::Bandwidth, compute = kind == RateKind::Compute;
  nlohmann::json row = {{"workload", w.id},
                        {"threads", c.threads},
                        {"kiln_eager_ms", t[0].median_ms},
                        {"kiln_compiled_ms", t[1].median_ms},
                        {"libtorch_eager_ms", or_null(torch_ms, c.torch)},
                        {"libtorch_stock_ms", or_null(stock_ms, has_stock)},
                        {"speedup_vs_kiln_eager", speedup_eager},
                        {"speedup_vs_libtorch", or_null(speedup_torch, c.torch)},
                        {"speedup_vs_libtorch_stock", or_null(speedup_stock, has_stock)},
                        {"kiln_untuned_ms", or_null(untuned_ms, c.opt.vs_untuned)},
                        {"speedup_vs_untuned", or_null(speedup_untuned, c.opt.vs_untuned)},
                        {"kiln_dynamic_ms", or_null(dynamic_ms, has_dynamic)},
                        {"dynamic_vs_static", or_null(dynamic_ratio, has_dynamic)},
                        {"fraction_of_limit", or_null(fraction, has_limit)},
                        {"above_limit", above_limit},
                        {"kiln_eager_gbps", or_null(eager_rate, bandwidth)},
                        {"kiln_compiled_gbps", or_null(compiled_rate, bandwidth)},
                        {"kiln_eager_gflops", or_null(eager_rate, compute)},
                        {"kiln_compiled_gflops", or_null(compiled_rate, compute)},
                        {"peak_bytes_eager", peak_eager},
                        {"peak_bytes_compiled", peak_compiled},
                        {"cold_compile_ms", cold_compile_ms},
                        {"warm_compile_ms", warm_compile_ms},
                        {"remote_warm_compile_ms", or_null(remote_warm_compile_ms, c.table.remote)},
                        {"kernels", kernels},
                        {"library_steps", library_steps},
                        {"runs", t[0].runs},
                        {"kiln_eager_min_ms", t[0].min_ms},
                        {"kiln_eager_max_ms", t[0].max_ms},
                        {"kiln_compiled_min_ms", t[1].min_ms},
                        {"kiln_compiled_max_ms", t[1].max_ms}};
  peers.add_json(row);
  return row;
}

// W7 and W10: a training step, eager and compiled, each on its own copy of the model, since
// a step changes it. The first step's losses must agree; then both keep stepping on the
// same batch. libtorch (its own nn.functional and optim.Adam) starts from the same weights;
// the stock-libtorch column is left out.
nlohmann::json training_row(const kiln::perf::TrainingWorkload &w, const Context &c) {
  const std::string cache_dir = fmt::format("{}/{}-t{}", c.cache_base, w.id, c.threads);
  std::filesystem::remove_all(cache_dir);
  kiln::set_cache_dir(cache_dir);
  kiln::perf::Trainer eager = w.make(), traced = w.make();
  kiln::CompileOptions options{.name = w.id};
  if (c.opt.autotune) options.autotune = *c.opt.autotune;
  auto compiled = kiln::compile(traced.step, options);
  const auto t0 = std::chrono::steady_clock::now();
  const kiln::Tensor got = compiled(traced.x, traced.target);
  const double first_call_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const kiln::Tensor want = eager.step(eager.x, eager.target);
  if (std::string m = mismatch(got, want, kTolerance); !m.empty())
    throw cli::CheckFailed(fmt::format(
        "kiln-bench: {}: the compiled step's loss differs from kiln eager's: {}", w.id, m));
  std::vector<std::function<void()>> runners = {[&] { (void)eager.step(eager.x, eager.target); },
                                                [&] { (void)compiled(traced.x, traced.target); }};
  kiln::perf::TorchRunner torch_runner;
  if (c.torch) {
    // The same starting weights and batch: its first loss must be kiln's.
    const kiln::perf::Trainer start = w.make();
    std::vector<kiln::perf::RawTensor> raws = {raw(start.x), raw(start.target)};
    for (const kiln::Tensor &p : start.model->parameters()) raws.push_back(raw(p.detach()));
    torch_runner = kiln::perf::libtorch_training(w.id, raws);
    if (std::string m = mismatch(from_raw(torch_runner.output()), want, kTolerance); !m.empty())
      throw cli::CheckFailed(fmt::format(
          "kiln-bench: {}: libtorch's first loss differs from kiln eager's: {}", w.id, m));
    runners.push_back(torch_runner.run);
  }
  for (auto &r : runners) r();  // warm-up
  std::vector<kiln::perf::Timing> t = kiln::perf::measure_interleaved(runners, c.opt.budget_s);
  const double speedup = kiln::perf::median_ratio(t[0], t[1]);
  const double torch_ms = c.torch ? t[2].median_ms : 0.0;
  const double speedup_torch = c.torch ? kiln::perf::median_ratio(t[2], t[1]) : 0.0;
  const kiln::Explanation ex = kiln::explain(compiled, traced.x, traced.target);
  const int kernels = ex.entries.empty() ? 0 : ex.entries.front().kernels;
  const double cold_ms = ex.entries.empty() ? first_call_ms : ex.entries.front().compile_ms;
  kiln::perf::Trainer again_t = w.make();
  auto again = kiln::compile(again_t.step, options);
  (void)again(again_t.x, again_t.target);
  const kiln::Explanation again_ex = kiln::explain(again, again_t.x, again_t.target);
  const double warm_ms = again_ex.entries.empty() ? 0.0 : again_ex.entries.front().compile_ms;
  const bool compute = w.flops > 1e8 && c.gemm_peak > 0;
  const double eager_rate = w.flops / (t[0].median_ms * 1e-3) / 1e9,
               compiled_rate = w.flops / (t[1].median_ms * 1e-3) / 1e9;
  const RateKind kind = w.flops > 1e8 ? RateKind::Compute : RateKind::None;

  std::vector<std::string> cells = {w.id, fmt::format("{:.3f}", t[0].median_ms),
                                    fmt::format("{:.3f}", t[1].median_ms), cell(torch_ms, c.torch)};
  if (c.table.stock) cells.push_back("n/a");
  cells.push_back(fmt::format("{:.2f}x", speedup));
  cells.push_back(cell(speedup_torch, c.torch, "{:.2f}x"));
  if (c.table.stock) cells.push_back("n/a");
  if (c.table.untuned) cells.insert(cells.end(), {"n/a", "n/a"});
  if (c.table.peers) cells.insert(cells.end(), {"n/a", "n/a", "n/a", "n/a"});
  cells.insert(cells.end(), {rate_cell(kind, eager_rate), rate_cell(kind, compiled_rate),
                             cell(100 * compiled_rate / c.gemm_peak, compute, "{:.0f}%"),
                             fmt::format("{:.2f}", cold_ms), fmt::format("{:.2f}", warm_ms)});
  if (c.table.remote) cells.push_back("n/a");
  cells.push_back(fmt::format("{} ({} kernels per step)", w.description, kernels));
  c.table.print(cells);
  nlohmann::json row = {{"workload", w.id},
                        {"threads", c.threads},
                        {"kiln_eager_ms", t[0].median_ms},
                        {"kiln_compiled_ms", t[1].median_ms},
                        {"libtorch_eager_ms", or_null(torch_ms, c.torch)},
                        {"speedup_vs_kiln_eager", speedup},
                        {"speedup_vs_libtorch", or_null(speedup_torch, c.torch)},
                        {"kiln_eager_gflops", or_null(eager_rate, kind == RateKind::Compute)},
                        {"kiln_compiled_gflops", or_null(compiled_rate, kind == RateKind::Compute)},
                        {"fraction_of_limit", or_null(compiled_rate / c.gemm_peak, compute)},
                        {"above_limit", false},
                        {"cold_compile_ms", cold_ms},
                        {"warm_compile_ms", warm_ms},
                        {"kernels", kernels},
                        {"runs", t[0].runs},
                        {"kiln_eager_min_ms", t[0].min_ms},
                        {"kiln_eager_max_ms", t[0].max_ms},
                        {"kiln_compiled_min_ms", t[1].min_ms},
                        {"kiln_compiled_max_ms", t[1].max_ms}};
  PeerCells{.compiled_ms = t[1].median_ms}.add_json(row);  // peers.py has no training rows
  return row;
}

void write_json(const std::string &path, const nlohmann::json &report) {
  std::ofstream out(path);
  out << report.dump(2) << "\n";
  fmt::print("\nwrote {}\n", path);
}

// --libtorch-only: libtorch's runner alone, checked against kiln eager like the main run, one
// median per row (what --libtorch both reads back from its stock child).
int run_libtorch_only(const Options &opt, const std::vector<Workload> &workloads) {
  if (!kiln::perf::libtorch_available())
    kiln::fail(
        "kiln-bench: --libtorch-only needs libtorch, which this kiln-bench was built without");
  nlohmann::json results = nlohmann::json::array();
  for (int threads : opt.threads) {
    kiln::set_num_threads(threads);
    kiln::perf::libtorch_set_threads(threads);
    for (const Workload &w : workloads) {
      if (!selected(opt, w)) continue;
      kiln::manual_seed(0);
      std::vector<kiln::Tensor> inputs = w.make_inputs();
      kiln::perf::TorchRunner r =
          checked_torch_runner(w, inputs, w.run(inputs), "libtorch " + opt.libtorch);
      kiln::perf::Timing t = kiln::perf::measure(r.run, opt.budget_s);
      fmt::print("{:<7} {:>2} threads {:>12.3f} ms  libtorch {}\n", w.id, threads, t.median_ms,
                 opt.libtorch);
      results.push_back({{"workload", w.id},
                         {"threads", threads},
                         {"libtorch_eager_ms", t.median_ms},
                         {"libtorch_eager_min_ms", t.min_ms},
                         {"libtorch_eager_max_ms", t.max_ms}});
    }
  }
  if (!opt.json_path.empty())
    write_json(opt.json_path, {{"libtorch_config", opt.libtorch}, {"results", results}});
  return 0;
}

// What the stock child of --libtorch both is told: the same rows and budget as this run.
std::vector<std::string> stock_child_args(const Options &opt) {
  std::vector<std::string> threads;
  for (int n : opt.threads) threads.push_back(std::to_string(n));
  std::vector<std::string> args = {"--threads", fmt::format("{}", fmt::join(threads, ",")),
                                   "--budget", fmt::format("{}", opt.budget_s)};
  if (!opt.filter.empty())
    args.insert(args.end(), {"--filter", fmt::format("{}", fmt::join(opt.filter, ","))});
  return args;
}

int run(const Options &opt) {
  std::vector<Workload> workloads = kiln::perf::eager_workloads();
  if (opt.list) {
    for (const auto &w : workloads) fmt::print("{}  {}\n", w.id, w.description);
    for (const auto &w : kiln::perf::training_workloads())
      fmt::print("{}  {}\n", w.id, w.description);
    return 0;
  }
  if (opt.libtorch_only) return run_libtorch_only(opt, workloads);
  const bool torch = kiln::perf::libtorch_available();
  // --autotune, else KILN_AUTOTUNE, else compile()'s default; then the mode is set per
  // function (the untuned column needs its own), so KILN_AUTOTUNE is cleared.
  Options run_opt = opt;
  run_opt.remote = kiln::remote_cache_settings();
  run_opt.remote.url = opt.cache_remote;
  if (!run_opt.autotune) {
    const std::string env = kiln::autotune_setting();
    run_opt.autotune = env == "off"   ? kiln::AutotuneMode::Off
                       : env == "max" ? kiln::AutotuneMode::Max
                                      : kiln::AutotuneMode::Default;
  }
  kiln::set_autotune_setting("");
  const std::string autotune = *run_opt.autotune == kiln::AutotuneMode::Off       ? "off"
                               : *run_opt.autotune == kiln::AutotuneMode::Default ? "default"
                                                                                  : "max";
  nlohmann::json results = nlohmann::json::array();
  nlohmann::json machine = {{"cpu", cpu_model()},
                            {"cores", std::thread::hardware_concurrency()},
                            {"compiler", compiler_name()},
                            {"llvm", KILN_LLVM_VERSION},
                            {"kiln_commit", KILN_COMMIT},
                            {"libtorch", torch ? kiln::perf::libtorch_version() : ""},
                            {"libtorch_config", torch ? opt.libtorch : ""},
                            {"libtorch_tuned_settings", torch ? tuned_text(opt) : ""},
                            {"autotune", autotune},
                            {"isa", host_isa()}};
  fmt::print(
      "kiln-bench on {}, {} cores, budget {:.2f} s per row, autotune {}; libtorch: {}\n",
      cpu_model(), std::thread::hardware_concurrency(), opt.budget_s, autotune,
      torch
          ? fmt::format("{} ({}{})", kiln::perf::libtorch_version(), opt.libtorch, tuned_text(opt))
          : fmt::format("unavailable, kiln-bench was built without it (Debian libtorch-dev); "
                        "--libtorch {} ignored",
                        opt.libtorch));
  // Each row compiles cold into its own folder under this one (removed at exit unless named).
  std::string cache_base = opt.cache_dir;
  if (cache_base.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "kiln-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      kiln::fail("kiln-bench: cannot make a temporary folder");
    cache_base = pattern;
  }
  struct RemoveAtExit {
    std::string dir;
    ~RemoveAtExit() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  } remove_temp{opt.cache_dir.empty() ? cache_base : ""};
  kiln::set_cache_dir(cache_base + "/probes");  // the limit probes' compiles, never the user's
  kiln::set_remote_cache_settings({});  // Redis only where --cache-remote asks (remote_warm_ms)
  kiln::perf::StockTimes stock;
  if (torch && opt.libtorch == "both") {
    fmt::print("timing stock libtorch in a child process without {}...\n",
               fmt::join(kiln::perf::kTunedVariables, ", "));
    stock = kiln::perf::run_stock_child(stock_child_args(opt));
  }
  for (int threads : opt.threads) {
    kiln::set_num_threads(threads);
    kiln::perf::libtorch_set_threads(threads);
    const double triad = kiln::perf::stream_triad_gbs(std::min(opt.budget_s, 1.0));
    const GemmPeak peak = measure_gemm_peak(torch, std::min(opt.budget_s, 1.0));
    const double gemm_peak = peak.gflops;
    machine[fmt::format("stream_triad_gbs_{}t", threads)] = triad;
    machine[fmt::format("gemm_peak_gflops_{}t", threads)] = gemm_peak;
    machine[fmt::format("gemm_peak_source_{}t", threads)] = peak.source;
    fmt::print("\nthreads {}: STREAM triad {:.1f} GB/s, GEMM peak {:.0f} GFLOP/s ({})\n", threads,
               triad, gemm_peak, peak.source);
    kiln::perf::PeerRun peers;
    if (opt.peers != "none") {
      fmt::print("timing the Python peers ({}) in a child process...\n", opt.peers);
      std::fflush(stdout);
      peers = kiln::perf::run_python_peers(threads, opt.budget_s, opt.filter, opt.peers);
      fmt::print("peers: {}{}\n", peers.versions.empty() ? "none" : peers.versions,
                 peers.absent.empty() ? "" : fmt::format(" (absent: {})", peers.absent));
      machine[fmt::format("python_peers_{}t", threads)] = peers.versions;
    }
    const Context c{.opt = run_opt,
                    .torch = torch,
                    .threads = threads,
                    .triad = triad,
                    .gemm_peak = gemm_peak,
                    .stock = stock,
                    .cache_base = cache_base,
                    .table = {.stock = torch && opt.libtorch == "both",
                              .untuned = opt.vs_untuned,
                              .dynamic = opt.dynamic,
                              .remote = !opt.cache_remote.empty(),
                              .peers = opt.peers != "none"},
                    .peers = opt.peers != "none" ? &peers : nullptr};
    c.table.header();
    bool above = false;
    for (const Workload &w : workloads)
      if (selected(opt, w)) {
        results.push_back(bench_row(w, c));
        above = above || results.back()["above_limit"].get<bool>();
      }
    for (const kiln::perf::TrainingWorkload &w : kiln::perf::training_workloads())
      if (selected(opt, w.id)) results.push_back(training_row(w, c));
    if (above)
      fmt::print(
          "* above its limit: the row's data stays in cache (bandwidth), or the limit "
          "probe ran slower than this row (a bug in the probe)\n");
  }
  nlohmann::json overhead = kiln::perf::run_overhead(std::min(opt.budget_s, 0.5));
  if (!opt.json_path.empty())
    write_json(opt.json_path, {{"machine", machine}, {"results", results}, {"overhead", overhead}});
  if (!opt.plot_path.empty() && kiln::perf::plot_speedups(results, opt.plot_path))
    fmt::print("wrote {}\n", opt.plot_path);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  Options opt;
  cli::Parser parser = make_parser(opt);
  parser.parse(argc, argv);
  ensure_tuned_environment(opt, argv);
  return cli::run_main(parser, [&] { return run(opt); });
}
