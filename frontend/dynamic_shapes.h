// Dynamic shapes: which dims of a call become symbols, and the check that a graph's
// kernels hold for every size of their symbols (witness sizes: ir/substitute_sizes.h).
// A symbolic trace runs twice, at two witness sets; a number that is the symbol changes
// with the witness, anything else computed from it (a mean's 1/s0, a reshape to 4*s0)
// shows up as a difference, and the dims stay static.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "guards/guard_set.h"

namespace kiln::detail {

// Symbols for the candidate dims (row, dim) of a call, skipping sizes 0 and 1 and
// non-contiguous tensors. Dims of equal size share a symbol, as they usually must (a batch
// dim of x and of y); the guards then require them to stay equal.
[[nodiscard]] std::vector<guards::SymbolicDim> assign_symbols(
    std::span<const guards::ArgDesc> args, std::span<const std::pair<int32_t, int32_t>> candidates);

}  // namespace kiln::detail
