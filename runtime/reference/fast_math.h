// Branch-free float32 exp, tanh and erf that GCC and Clang vectorise (a call into libm
// inside a loop does not). Accurate to a few ulp; f64 goes to libm. NaN propagates.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace kiln::runtime {

inline float fast_exp(float x) {
  // x = n*ln2 + r with |r| <= ln2/2; e^r by its Taylor series to degree 7 (error < 1e-8).
  // Clamp with plain selects (fmin/fmax are libm calls); NaN takes 0 and is restored below.
  float xc = x < -104.0f ? -104.0f : x;
  xc = xc > 88.8f ? 88.8f : xc;
  xc = x != x ? 0.0f : xc;
  // Round to nearest by the 1.5 * 2^23 trick: nearbyint is a libm call without fast-math.
  constexpr float kRound = 12582912.0f;
  // Explicit fmas here and in fast_erf: the generated kernels (lowering/cpu_llvm/
  // math_emit.cpp) use the same ones, so both agree bit for bit whatever the build flags.
  float n = std::fma(xc, 1.44269504f, kRound) - kRound;
  float r = std::fma(n, -0.693145752f, xc);
  r = std::fma(n, -1.42860677e-6f, r);
  float p = 1.0f / 5040;
  p = std::fma(p, r, 1.0f / 720);
  p = std::fma(p, r, 1.0f / 120);
  p = std::fma(p, r, 1.0f / 24);
  p = std::fma(p, r, 1.0f / 6);
  p = std::fma(p, r, 0.5f);
  p = std::fma(p, r, 1.0f);
  p = std::fma(p, r, 1.0f);
  // 2^n split in two factors so that n down to -150 (denormals) still scales correctly.
  int32_t ni = static_cast<int32_t>(n);
  int32_t half = ni / 2;
  float s1 = std::bit_cast<float>((half + 127) << 23);
  float s2 = std::bit_cast<float>((ni - half + 127) << 23);
  float result = p * s1 * s2;
  result = x > 88.7228394f ? INFINITY : result;
  return x != x ? x : result;
}

inline float fast_tanh(float x) {
  float ax = std::fabs(x);
  // Large |x|: 1 - 2/(e^{2|x|}+1) loses nothing once the result is above 0.46.
  float big = 1.0f - 2.0f / (fast_exp(2.0f * ax) + 1.0f);
  // Small |x|: the Taylor series of tanh through x^15 (error < 1e-7 relative at 0.5).
  float z = ax * ax;
  float p = -929569.0f / 638512875.0f;
  p = std::fma(p, z, 21844.0f / 6081075.0f);
  p = std::fma(p, z, -1382.0f / 155925.0f);
  p = std::fma(p, z, 62.0f / 2835.0f);
  p = std::fma(p, z, -17.0f / 315.0f);
  p = std::fma(p, z, 2.0f / 15.0f);
  p = std::fma(p, z, -1.0f / 3.0f);
  float small = std::fma(p * z, ax, ax);
  float t = ax < 0.5f ? small : big;
  return std::copysign(t, x);
}

inline float fast_sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }

inline float fast_erf(float x) {
  float ax = std::fabs(x);
  // Small |x|: Maclaurin series through x^13.
  float z = ax * ax;
  float p = 1.0f / 9360.0f;
  p = std::fma(p, z, -1.0f / 1320.0f);
  p = std::fma(p, z, 1.0f / 216.0f);
  p = std::fma(p, z, -1.0f / 42.0f);
  p = std::fma(p, z, 1.0f / 10.0f);
  p = std::fma(p, z, -1.0f / 3.0f);
  p = std::fma(p, z, 1.0f);
  float small = 1.12837917f * ax * p;
  // Larger |x|: Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7.
  float t = 1.0f / std::fma(0.3275911f, ax, 1.0f);
  float q = 1.061405429f;
  q = std::fma(q, t, -1.453152027f);
  q = std::fma(q, t, 1.421413741f);
  q = std::fma(q, t, -0.284496736f);
  q = std::fma(q, t, 0.254829592f);
  // Past |x| = 5, q * t * e^-z is below 1e-12 and the sum rounds to 1. Taking 1 there,
  // with e^-z's argument held at -25, keeps e^-z normal: a denormal costs a microcode
  // assist per vector (a GEMM's GELU epilogue on values near 30 ran 9x slower).
  float big = std::fma(-(q * t), fast_exp(-(z > 25.0f ? 25.0f : z)), 1.0f);
  big = ax > 5.0f ? 1.0f : big;
  float e = ax < 0.5f ? small : big;
  return std::copysign(e, x);
}

// Typed front doors: float takes the vectorisable path, double takes libm.
inline float k_exp(float x) { return fast_exp(x); }
inline double k_exp(double x) { return std::exp(x); }
inline float k_tanh(float x) { return fast_tanh(x); }
inline double k_tanh(double x) { return std::tanh(x); }
inline float k_erf(float x) { return fast_erf(x); }
inline double k_erf(double x) { return std::erf(x); }
inline float k_sigmoid(float x) { return fast_sigmoid(x); }
inline double k_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace kiln::runtime
