// Where a compiled function's time goes, step by step. KILN_PROFILE=1 profiles the whole
// process and prints the table at exit; KILN_PROFILE_TRACE=trace.json also writes a Chrome
// trace-event file (open it in chrome://tracing or ui.perfetto.dev: a track per thread, the
// pool's threads included). Or profile part of a program:
//
//   kiln::ProfileScope scope;          // on, from empty, until the scope ends
//   for (int i = 0; i < 100; ++i) f(x);
//   std::cout << scope.table();        // step, kind, calls, total/mean, share, GB/s, GFLOP/s
//   scope.write_trace("trace.json");
//
// Steps are what a compiled call runs: generated kernels ("f.k0"), GEMMs with their
// epilogue ("gemm"), and ops the runtime runs itself ("f matmul#3"). Bytes are each step's
// inputs and outputs read or written once; FLOPs are counted for GEMMs and matmuls. Off,
// a compiled call (and each parallel region) pays one atomic load; on, about 0.25 us per step and
// per call (Zen 3: a one-kernel call went from 0.76 to 1.3 us).
#pragma once

#include <string>

namespace kiln {

void set_profiling(bool on);
[[nodiscard]] bool profiling();
[[nodiscard]] std::string profile_table();  // everything recorded since the last reset
void reset_profile();
// Chrome trace-event JSON; throws kiln::Error when the file cannot be written.
void write_profile_trace(const std::string &path);

// A scope starts from an empty profile: what was recorded before it (an outer scope's, or
// KILN_PROFILE's so far) is dropped, and KILN_PROFILE's exit table covers only what came after.
class ProfileScope {
 public:
  ProfileScope();   // resets the profile and turns it on
  ~ProfileScope();  // turns it back to what it was
  ProfileScope(const ProfileScope &) = delete;
  ProfileScope &operator=(const ProfileScope &) = delete;
  [[nodiscard]] std::string table() const { return profile_table(); }
  void write_trace(const std::string &path) const { write_profile_trace(path); }

 private:
  bool was_on_;
};

}  // namespace kiln
