// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
#include "runtime/random.h"

#include <cmath>
#include <numbers>

namespace kiln::runtime {

std::array<uint32_t, 4> philox(uint64_t seed, uint64_t counter) {
  constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;
  constexpr uint32_t kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t{kMul0} * c0, p1 = uint64_t{kMul1} * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {c0, c1, c2, c3};
}

double uniform01(uint64_t seed, uint64_t counter) {
  auto r = philox(seed, counter);
  uint64_t bits = (uint64_t{r[0]} << 21) ^ r[1];  // 53 random bits
  return static_cast<double>(bits & ((uint64_t{1} << 53) - 1)) * 0x1p-53;
}

double normal01(uint64_t seed, uint64_t counter) {
  auto r = philox(seed, counter);
  double u1 = (static_cast<double>(r[0]) + 1.0) * 0x1p-32;  // (0, 1]: log is finite
  double u2 = static_cast<double>(r[2]) * 0x1p-32;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

namespace {

template <class T>
void fill_normal_typed(uint64_t seed, uint64_t offset, int64_t lo, int64_t hi, T *out) {
  constexpr T kTwoPi = static_cast<T>(2.0 * std::numbers::pi);
  for (int64_t block = lo / 4; block * 4 < hi; ++block) {
    const auto r = philox(seed, offset + static_cast<uint64_t>(block));
    T lanes[4];
    for (int pair = 0; pair < 2; ++pair) {
      // Radius from r0 (r1), angle from r2 (r3): (0, 1] keeps the log finite.
      const T u = static_cast<T>((static_cast<double>(r[pair]) + 1.0) * 0x1p-32);
      const T angle = kTwoPi * static_cast<T>(static_cast<double>(r[pair + 2]) * 0x1p-32);
      const T radius = std::sqrt(T(-2) * std::log(u));
      lanes[2 * pair] = radius * std::cos(angle);
      lanes[2 * pair + 1] = radius * std::sin(angle);
    }
    for (int lane = 0; lane < 4; ++lane) {
      const int64_t i = block * 4 + lane;
      if (i >= lo && i < hi) out[i] = lanes[lane];
    }
  }
}

}  // namespace

void fill_normal(uint64_t seed, uint64_t offset, int64_t lo, int64_t hi, float *out) {
  fill_normal_typed(seed, offset, lo, hi, out);
}
void fill_normal(uint64_t seed, uint64_t offset, int64_t lo, int64_t hi, double *out) {
  fill_normal_typed(seed, offset, lo, hi, out);
}

}  // namespace kiln::runtime
