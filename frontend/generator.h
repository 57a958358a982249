// The global random generator: a seed and a counter offset (see runtime/random.h).
// Each random op reserves numel counters, so results depend only on seed and call order.
#pragma once

#include <cstdint>
#include <utility>

#include "ir/attrs.h"

namespace kiln {

// Reserves `count` counters; returns attrs {seed, offset} for the random op to carry.
[[nodiscard]] Attrs draw_random(int64_t count);

// Where the generator is now.
[[nodiscard]] uint64_t random_seed();
[[nodiscard]] uint64_t random_offset();

// Puts the generator back as it was when constructed: traces that only probe the function
// (dynamic shapes' witness traces) must not move the user's random stream.
class GeneratorCheckpoint {
 public:
  GeneratorCheckpoint();
  ~GeneratorCheckpoint();
  GeneratorCheckpoint(const GeneratorCheckpoint &) = delete;
  GeneratorCheckpoint &operator=(const GeneratorCheckpoint &) = delete;

 private:
  uint64_t seed_, offset_;
};

}  // namespace kiln
