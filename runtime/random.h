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

// randn's elements [lo, hi) of a draw starting at `offset`: one Philox call gives four
// normals (element i uses counter offset + i / 4, lane i % 4), Box-Muller making two
// from each pair of words; element 0 of a block equals normal01(seed, counter). Floats
// are computed in float, doubles in double.
void fill_normal(uint64_t seed, uint64_t offset, int64_t lo, int64_t hi, float *out);
void fill_normal(uint64_t seed, uint64_t offset, int64_t lo, int64_t hi, double *out);

}  // namespace kiln::runtime
