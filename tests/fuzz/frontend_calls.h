// Frontend composites that trace to several primitives (linear; matmul with 1-D, batched and
// broadcast operands), called with random shapes torch accepts, 0-size dims included.
#pragma once

#include <cstdint>
#include <string>

namespace kiln::test::fuzz {

// The call for seed, as text: "linear(x: f32[2,0], w: f32[3,0], b: f32[3])".
[[nodiscard]] std::string frontend_call(uint64_t seed);

// "" when eager accepts the call (torch does) and compile() gives eager's answer at every
// backend and thread count (differential.h, check_program), else what went wrong.
[[nodiscard]] std::string frontend_check(uint64_t seed);

}  // namespace kiln::test::fuzz
