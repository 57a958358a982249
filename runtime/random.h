// Counter-based random numbers (Philox-4x32-10): element i of a random op draws from
// (seed, offset + i), so results do not depend on thread count or chunking, and a
// generator is just (seed, offset). The frontend's generator advances offset by numel.
#pragma once

#include <array>
#include <cstdint>

namespace kiln::runtime {

[[nodiscard]] std::array<uint32_t, 4> philox(uint64_t seed, uint64_t counter);

// Uniform in [0, 1) from the first lanes of philox(seed, counter).
[[nodiscard]] double uniform01(uint64_t seed, uint64_t counter);
// Standard normal by Box-Muller from the same draw.
[[nodiscard]] double normal01(uint64_t seed, uint64_t counter);

}  // namespace kiln::runtime
