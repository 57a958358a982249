// The per-step profile of compiled calls (KILN_PROFILE, kiln::ProfileScope): when on, every
// step of every Program::run is timed (generated kernel, GEMM, op the runtime runs itself)
// and so is each pool thread's share of it; the totals become a table (calls, time, bytes
// and GB/s, FLOPs and GFLOP/s, share of the calls' time), the spans a Chrome trace-event
// file (chrome://tracing, ui.perfetto.dev) with a track per thread. Off, a call pays one
// relaxed atomic load (and so does each pool thread's share of a parallel region).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::runtime::profile {

namespace detail {
extern std::atomic<bool> g_on;
}

[[nodiscard]] inline bool on() { return detail::g_on.load(std::memory_order_relaxed); }
void set_on(bool on);

// Nanoseconds on the clock every record uses.
[[nodiscard]] inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What one step is, for the table: its name ("W4.k1", "W4 matmul"), its kind ("kernel",
// "gemm", or the op), the bytes it reads and writes once and the FLOPs it does (0: not
// counted).
struct StepInfo {
  std::string function;
  std::string name;
  std::string kind;
  int64_t program = 0;  // which program (a function's entries are programs of their own)
  int64_t index = 0;    // the step's place in its program
  int64_t bytes = 0;
  double flops = 0;
};

// Program::run reports a step and a whole call, and names the step it runs on its thread
// (set_current_step; null between steps). parallel_for copies that name into its job
// (current_step) so each pool thread reports its span of the work under it.
void record_step(const StepInfo &step, int64_t begin_ns, int64_t end_ns);
void record_call(std::string_view function, int64_t begin_ns, int64_t end_ns);
void set_current_step(const std::string *name);
[[nodiscard]] std::string current_step();  // this thread's, or "parallel work"
void record_thread_span(const std::string &step, int64_t begin_ns, int64_t end_ns);

// The totals recorded since the last reset: every step, slowest first, and every call.
struct StepTotal {
  StepInfo info;
  int64_t calls = 0, total_ns = 0;
};
struct Summary {
  std::vector<StepTotal> steps;
  int64_t calls = 0, call_ns = 0;
};
[[nodiscard]] Summary summary();

// The table of everything recorded since the last reset, slowest step first.
[[nodiscard]] std::string table();
void reset();
// Chrome trace-event JSON of the spans recorded (at most a million; later ones are counted,
// not kept). Throws kiln::Error, with the system's reason, when the file cannot be written.
void write_trace(const std::string &path);

}  // namespace kiln::runtime::profile
