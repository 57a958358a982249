// Per-call overhead of compile(): the guard check alone, and a whole compiled call of a
// tiny function, for 1, 4 and 16 tensor inputs.
#pragma once

#include <nlohmann/json.hpp>

namespace kiln::perf {

// Prints a table and returns its rows as JSON.
nlohmann::json run_overhead(double budget_s);

}  // namespace kiln::perf
