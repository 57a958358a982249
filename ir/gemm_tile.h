// GemmTile: the blocking parameters of a GEMM, shared by the lowering that chooses them
// (lowering/choices.h), the kernel IR that records them and the runtime's GEMM driver that
// runs with them. Plain data, so it may sit below all three.
#pragma once

#include <cstdint>

namespace kiln::ir {

// The blocking of a GEMM, outer to inner: B is packed nc columns by kc deep (kept in L2/L3),
// A mc rows by kc deep (L2), and an mr x nr tile of C is held in registers while kc
// multiply-adds go into each element. nr is a multiple of the vector width and divides nc.
// lower::gemm_tile picks them for a dtype and vector width; they are parameters so that
// a search (the autotune issue) can vary them.
struct GemmTile {
  int64_t mr = 8, nr = 32, kc = 256, mc = 256, nc = 1024;
  bool operator==(const GemmTile &) const = default;
};

}  // namespace kiln::ir
