// The profile's records: per-step totals in a map, spans in a bounded list, one mutex (it
// is for finding where time goes, not for production calls). The environment is read when
// the library loads: KILN_PROFILE and KILN_PROFILE_TRACE must be set before the process starts.
#include "runtime/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

#include "ir/diag.h"
#include "ir/settings.h"
#include "ir/trace.h"

namespace kiln::runtime::profile {
namespace {

struct CallTotals {
  int64_t calls = 0, total_ns = 0;
};

struct Span {
  std::string name;
  char category;  // 'c' call, 's' step, 't' a thread's share of a step
  int tid;
  int64_t begin_ns, end_ns;
};

constexpr size_t kMaxSpans = 1'000'000;

struct State {
  std::mutex mutex;
  std::map<std::tuple<std::string, int64_t, int64_t>, StepTotal> steps;  // function, program, step
  std::map<std::string, CallTotals, std::less<>> calls;
  std::vector<Span> spans;
  int64_t dropped = 0;  // spans past kMaxSpans
  int64_t first_ns = -1;
};

State &state() {
  static auto *s = new State;  // never destroyed: the exit report reads it
  return *s;
}

thread_local const std::string *t_current = nullptr;  // the step this thread runs
std::atomic<int> g_next_tid{0};
thread_local int t_tid = -1;

int tid() {
  if (t_tid < 0) t_tid = g_next_tid.fetch_add(1);
  return t_tid;
}

void add_span(State &s, std::string name, char category, int64_t begin_ns, int64_t end_ns) {
  if (s.first_ns < 0 || begin_ns < s.first_ns) s.first_ns = begin_ns;
  if (s.spans.size() >= kMaxSpans) {
    ++s.dropped;
    return;
  }
  s.spans.push_back({std::move(name), category, tid(), begin_ns, end_ns});
}

// KILN_PROFILE=1: on from the start, the table on stderr at exit. KILN_PROFILE_TRACE=FILE:
// on too, and the trace written there at exit.
bool from_environment() {
  const bool table = env_profile();
  const std::string trace = env_profile_trace();
  if (!table && trace.empty()) return false;
  static std::string trace_path;
  static bool print_table = false;
  trace_path = trace;
  print_table = table;
  std::atexit([] {
    if (print_table) std::fputs(profile::table().c_str(), stderr);
    if (trace::enabled()) trace::event("profile", {{"text", profile::table()}});
    if (!trace_path.empty()) {
      try {
        write_trace(trace_path);
        std::fprintf(stderr, "[kiln] profile trace written to %s\n", trace_path.c_str());
      } catch (const Error &e) {
        std::fprintf(stderr, "[kiln] %s\n", e.what());
      }
    }
  });
  return true;
}

}  // namespace

namespace detail {
std::atomic<bool> g_on{from_environment()};
}

void set_on(bool on) { detail::g_on.store(on, std::memory_order_relaxed); }

void set_current_step(const std::string *name) { t_current = name; }

std::string current_step() { return t_current != nullptr ? *t_current : "parallel work"; }

void record_step(const StepInfo &step, int64_t begin_ns, int64_t end_ns) {
  State &s = state();
  std::lock_guard lock(s.mutex);
  auto [it, fresh] = s.steps.try_emplace({step.function, step.program, step.index});
  if (fresh) it->second.info = step;
  ++it->second.calls;
  it->second.total_ns += end_ns - begin_ns;
  add_span(s, step.name, 's', begin_ns, end_ns);
}

void record_call(std::string_view function, int64_t begin_ns, int64_t end_ns) {
  State &s = state();
  std::lock_guard lock(s.mutex);
  auto it = s.calls.find(function);
  if (it == s.calls.end()) it = s.calls.emplace(std::string(function), CallTotals{}).first;
  ++it->second.calls;
  it->second.total_ns += end_ns - begin_ns;
  add_span(s, fmt::format("{} call", function), 'c', begin_ns, end_ns);
}

void record_thread_span(const std::string &step, int64_t begin_ns, int64_t end_ns) {
  State &s = state();
  std::lock_guard lock(s.mutex);
  add_span(s, step, 't', begin_ns, end_ns);
}

Summary summary() {
  State &s = state();
  std::lock_guard lock(s.mutex);
  Summary out;
  for (const auto &[key, t] : s.steps) out.steps.push_back(t);
  std::sort(out.steps.begin(), out.steps.end(),
            [](const StepTotal &a, const StepTotal &b) { return a.total_ns > b.total_ns; });
  for (const auto &[name, c] : s.calls) out.calls += c.calls, out.call_ns += c.total_ns;
  return out;
}

std::string table() {
  State &s = state();
  std::lock_guard lock(s.mutex);
  if (s.calls.empty()) return "kiln profile: no compiled call was profiled\n";
  int64_t calls = 0, total_ns = 0;
  for (const auto &[name, c] : s.calls) calls += c.calls, total_ns += c.total_ns;
  std::string out = fmt::format(
      "kiln profile: {} compiled function(s), {} call(s), {:.3f} ms in compiled calls\n",
      s.calls.size(), calls, total_ns / 1e6);
  std::vector<const StepTotal *> rows;
  for (const auto &[key, t] : s.steps) rows.push_back(&t);
  std::sort(rows.begin(), rows.end(),
            [](const StepTotal *a, const StepTotal *b) { return a->total_ns > b->total_ns; });
  out += fmt::format("{:<28} {:<14} {:>7} {:>11} {:>11} {:>7} {:>9} {:>9}\n", "step", "kind",
                     "calls", "total ms", "mean us", "share", "GB/s", "GFLOP/s");
  // A function with several programs (guard sets, dynamic sizes) labels its rows by program.
  std::map<std::string, std::set<int64_t>> programs;
  for (const StepTotal *t : rows) programs[t->info.function].insert(t->info.program);
  int64_t step_ns = 0;
  for (const StepTotal *t : rows) {
    step_ns += t->total_ns;
    const auto call = s.calls.find(t->info.function);  // absent if every call threw
    const int64_t function_ns = call != s.calls.end() ? call->second.total_ns : 0;
    const std::string name = programs[t->info.function].size() > 1
                                 ? fmt::format("{} (program {})", t->info.name, t->info.program)
                                 : t->info.name;
    const double seconds = t->total_ns / 1e9;
    const double per_call = static_cast<double>(t->calls);
    out += fmt::format("{:<28} {:<14} {:>7} {:>11.3f} {:>11.1f} {:>6.1f}% {:>9} {:>9}\n", name,
                       t->info.kind, t->calls, t->total_ns / 1e6, t->total_ns / 1e3 / per_call,
                       function_ns > 0 ? 100.0 * t->total_ns / function_ns : 0.0,
                       t->info.bytes > 0 && seconds > 0
                           ? fmt::format("{:.2f}", t->info.bytes * per_call / seconds / 1e9)
                           : "",
                       t->info.flops > 0 && seconds > 0
                           ? fmt::format("{:.2f}", t->info.flops * per_call / seconds / 1e9)
                           : "");
  }
  out += fmt::format(
      "steps: {:.3f} ms, {:.1f}% of the calls (the rest: allocation, input copies, the loop); "
      "share: of its function's calls\n",
      step_ns / 1e6, total_ns > 0 ? 100.0 * step_ns / total_ns : 0.0);
  if (s.dropped > 0)
    out +=
        fmt::format("({} spans past the first million were not kept for the trace)\n", s.dropped);
  return out;
}

void reset() {
  State &s = state();
  std::lock_guard lock(s.mutex);
  s.steps.clear();
  s.calls.clear();
  s.spans.clear();
  s.dropped = 0;
  s.first_ns = -1;
}

void write_trace(const std::string &path) {
  std::string out = "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
  {
    State &s = state();
    std::lock_guard lock(s.mutex);
    std::set<int> tids;
    for (const Span &span : s.spans) {
      tids.insert(span.tid);
      const char *category = span.category == 'c'   ? "call"
                             : span.category == 's' ? "step"
                                                    : "thread";
      out += fmt::format(
          "{{\"name\": {}, \"cat\": \"{}\", \"ph\": \"X\", \"pid\": 1, \"tid\": {}, \"ts\": "
          "{:.3f}, "
          "\"dur\": {:.3f}}},\n",
          trace::json_quote(span.name), category, span.tid, (span.begin_ns - s.first_ns) / 1e3,
          (span.end_ns - span.begin_ns) / 1e3);
    }
    for (int t : tids)
      out += fmt::format(
          "{{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": {}, \"args\": "
          "{{\"name\": \"kiln thread {}\"}}}},\n",
          t, t);
  }
  out +=
      "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"args\": {\"name\": "
      "\"kiln\"}}\n]}\n";
  std::ofstream file(path, std::ios::binary);
  if (!file || !(file << out) || !file.flush())
    fail("profile: cannot write the trace to '{}': {}", path, std::strerror(errno));
}

}  // namespace kiln::runtime::profile
