// Parses the IR text form back into a Graph. Errors carry positions:
// "model.kir:12:7: error: unknown op 'relux'". Comments start with # and run to line end.
#pragma once

#include <string_view>

#include "ir/graph.h"

namespace kiln::ir {

// Parses exactly one graph; throws kiln::Error with "<source>:<line>:<col>: error: <what>".
// The result is verified (ir/verify.h) before it is returned.
[[nodiscard]] Graph parse(std::string_view text, std::string_view source = "<input>");

}  // namespace kiln::ir
