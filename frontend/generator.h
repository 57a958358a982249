// The global random generator: a seed and a counter offset (see runtime/random.h).
// Each random op reserves numel counters, so results depend only on seed and call order.
#pragma once

#include <cstdint>
#include <utility>

#include "ir/attrs.h"

namespace kiln {

// Reserves `count` counters; returns attrs {seed, offset} for the random op to carry. While
// a trace is active, from the trace's own stream (seed 0, offset from 0: see
// tracer::Trace::random_drawn), leaving the global generator alone.
[[nodiscard]] Attrs draw_random(int64_t count);
// Undoes a draw of `drawn` counters that started at `offset`, if nothing drew after it (a
// compiled call that failed and runs eagerly instead must draw as eager would).
void rewind_random(uint64_t offset, uint64_t drawn);

}  // namespace kiln
