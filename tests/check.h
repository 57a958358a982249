// Test helpers: compare tensors with stated tolerances and check error messages in full.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "kiln/kiln.h"

namespace kiln::test {

struct Tolerance {
  double atol = 0.0;
  double rtol = 0.0;
};

// Exact for integer and bool dtypes; |got - want| <= atol + rtol * |want| for floats.
// NaN matches NaN and infinities must match exactly. Returns "" or what went wrong.
[[nodiscard]] std::string compare(const Tensor &got, const Tensor &want, Tolerance tol);

// The per-dtype tolerance a kernel is held to against a reference computed in f64.
[[nodiscard]] Tolerance default_tolerance(DType dtype);

// Runs fn and returns the kiln::Error message, or "<no error>" / "<other exception: ...>".
[[nodiscard]] std::string error_message(const std::function<void()> &fn);

// Runs a shell command with its stderr folded into its stdout and returns both; `status`,
// when given, receives its exit status (-1 when it did not exit normally).
[[nodiscard]] std::string run_capture(const std::string &cmd, int *status = nullptr);

// A file's bytes, or "" when it cannot be read.
[[nodiscard]] std::string read_bytes(const std::filesystem::path &path);

// A tensor with data given in f64, converted to dtype (for compact references).
[[nodiscard]] Tensor make(const std::vector<double> &values, const Shape &shape,
                          DType dtype = DType::F32);

// A non-contiguous tensor holding the same values as x: x's data laid out transposed
// in memory, then transposed back (so strides are reversed).
[[nodiscard]] Tensor as_strided_copy(const Tensor &x);

}  // namespace kiln::test

#define KILN_CHECK_CLOSE(got, want, ...)                                        \
  do {                                                                          \
    std::string kiln_mismatch_ = ::kiln::test::compare(got, want, __VA_ARGS__); \
    CHECK_MESSAGE(kiln_mismatch_.empty(), kiln_mismatch_);                      \
  } while (0)
