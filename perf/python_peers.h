// The Python peers of kiln-bench: torch 2.x eager, torch.compile (default and max-autotune)
// and jax.jit, timed by perf/peers.py in a child process per thread count. Optional, like
// the libtorch column: without python3, torch or jax the cells read n/a and say why.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln::perf {

struct PeerTimes {  // medians in ms; unset where that peer is absent or failed
  std::optional<double> torch_eager_ms, torch_compile_ms, torch_compile_max_ms, jax_jit_ms;
  std::optional<double> torch_compile_cold_ms, jax_jit_cold_ms;  // first call, compile included
};

struct PeerRun {
  std::map<std::string, PeerTimes> rows;  // by workload id
  std::string versions;                   // "torch 2.5.1, jax 0.4.35"
  std::string absent;                     // why a peer is missing, "" if none is
};

// Runs peers.py for one thread count; `peers` is its --peers list ("torch,torch_compile,jax").
// A failed child is no error: the run comes back empty with the reason in `absent`.
[[nodiscard]] PeerRun run_python_peers(int threads, double budget_s,
                                       const std::vector<std::string> &filter,
                                       const std::string &peers);

}  // namespace kiln::perf
