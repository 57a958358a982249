// Test-case reduction for fuzz failures: deletes nodes and outputs while a predicate keeps
// failing, so a reproducer is a handful of instructions rather than the random program.
#pragma once

#include <functional>

#include "ir/graph.h"

namespace kiln::test::fuzz {

// True while g still shows the failure being reduced.
using StillFails = std::function<bool(const ir::Graph &g)>;

// Repeats until nothing helps: drop an extra output; forward a node's uses to one of its
// operands (or a graph input) of the same type and delete it; then drop dead nodes and
// unused inputs. Every candidate is verified before the predicate sees it. `budget` caps
// the predicate calls.
[[nodiscard]] ir::Graph shrink(ir::Graph g, const StillFails &still_fails, int budget = 2000);

// Deletes nodes whose results are unused and inputs nothing reads; true when any went.
bool remove_dead(ir::Graph &g);

}  // namespace kiln::test::fuzz
