// --plot: a bar chart of compiled speedups per workload (vs kiln eager and vs libtorch),
// drawn by gnuplot (Debian's gnuplot-nox) into an SVG or PNG.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::perf {

// Writes the chart for `results` (kiln-bench's JSON rows) to `path` (.svg or .png).
// Returns false, having said why on stderr, when gnuplot is missing or fails.
bool plot_speedups(const nlohmann::json &results, const std::string &path);

}  // namespace kiln::perf
