// Seeded random tensor programs for differential testing: ir::Graphs built node by node
// with Graph::add_node, so every program passes the type rules. The same seed gives the
// same program on every platform.
#pragma once

#include <cstdint>

#include "ir/graph.h"

namespace kiln::test::fuzz {

struct GenOptions {
  int min_nodes = 4;
  int max_nodes = 14;  // generated ops, not counting the clamps and converts that guard them
  int max_rank = 4;
  int64_t max_dim = 5;
  int max_inputs = 5;
};

// A splitmix64 stream: portable, unlike the distributions of <random>.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  int64_t below(int64_t n);  // uniform in [0, n); n > 0
  bool coin(double p) { return static_cast<double>(next() >> 11) * 0x1p-53 < p; }
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1p-53;
  }

 private:
  uint64_t state_;
};

// A random program: 1 to 6 outputs (most values nothing else reads), random ops (their seed
// and offset as written for IR-level checks; the replay draws them from the generator), and no
// op whose eager kernel can throw on the data the program produces (index and divisor
// operands are clamped into range).
[[nodiscard]] ir::Graph generate(uint64_t seed, const GenOptions &options = {});

}  // namespace kiln::test::fuzz
