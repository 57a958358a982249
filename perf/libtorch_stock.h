// --libtorch both: the stock libtorch column comes from a second kiln-bench process, because
// the tuned settings must be absent when libtorch and OpenBLAS start and this process has them.
// The child (--libtorch-only) times just the libtorch runner and hands its medians back as JSON.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kiln::perf {

// The environment variables --libtorch tuned sets (see ../shared/WORKLOADS.md).
inline constexpr const char *kTunedVariables[] = {"OPENBLAS_CORETYPE", "ATEN_CPU_CAPABILITY",
                                                  "OMP_WAIT_POLICY"};

// Stock libtorch median ms per (workload id, threads).
using StockTimes = std::map<std::pair<std::string, int>, double>;

// Runs this executable as `kiln-bench --libtorch-only --libtorch stock --json TMP <args>` with
// kTunedVariables removed from its environment and its table discarded, and reads TMP.
// Throws kiln::Error when the child cannot start or fails (a wrong answer included).
[[nodiscard]] StockTimes run_stock_child(const std::vector<std::string> &args);

}  // namespace kiln::perf
