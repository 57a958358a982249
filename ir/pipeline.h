// Pass pipelines: a comma-separated list of pass names ("cse,dce") run in order, each
// logged by name; the default pipeline compile() uses is one straight list.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

// The pipeline compile() runs after tracing.
[[nodiscard]] std::string_view default_pipeline();

// Called after each pass with its name, whether it changed the graph, and the graph.
using PassObserver = std::function<void(std::string_view pass, bool changed, const Graph &g)>;

// Runs the named passes in order (verifying the graph first and after each pass when
// verify_passes() is on: KILN_VERIFY=1, or a debug build); throws
// kiln::Error for an unknown pass name, listing the known ones.
void run_pipeline(Graph &g, std::string_view pipeline, const PassObserver &observer = {});

// Names of all registered passes, in table order.
[[nodiscard]] std::vector<std::string> pass_names();

}  // namespace kiln::ir
