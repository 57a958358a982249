// The IR text form (STYLE.md §4): one instruction per line, `%name: type = op[attrs] operands`.
// Printing is deterministic; graph inputs keep their names, other values are renumbered
// %0, %1, … in definition order. The parser (ir/parser.h) accepts exactly this output.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

[[nodiscard]] std::string print(const Graph &g);

// The print names of all values ("x", "0", "1", …; without the %), indexed by value id.
[[nodiscard]] std::vector<std::string> print_names(const Graph &g);

// One instruction as it appears in print(g), without indentation, e.g.
// "%2: f32[32,128] = add %0, %1".
[[nodiscard]] std::string print_node(const Graph &g, const Node &node,
                                     const std::vector<std::string> &names);

// The first lines of print(g), through the opening brace: signature and where clause.
[[nodiscard]] std::string print_header(const Graph &g, const std::vector<std::string> &names);

// An attribute value as printed: 1, 0.5, true, f32, "mean", [1,2].
[[nodiscard]] std::string print_attr(const AttrValue &value);

}  // namespace kiln::ir
