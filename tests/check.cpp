// Tensor comparison and error capture for the tests.
#include "check.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <iterator>

namespace kiln::test {

std::string compare(const Tensor &got, const Tensor &want, Tolerance tol) {
  if (!got.defined() || !want.defined()) return "undefined tensor";
  if (got.dtype() != want.dtype())
    return fmt::format("dtype: expected {}, got {}", dtype_name(want.dtype()),
                       dtype_name(got.dtype()));
  if (got.sizes() != want.sizes())
    return fmt::format("shape: expected {}, got {}", format_shape(want.sizes()),
                       format_shape(got.sizes()));
  if (!is_floating(want.dtype())) {
    auto g = got.tolist<int64_t>(), w = want.tolist<int64_t>();
    for (size_t i = 0; i < g.size(); ++i)
      if (g[i] != w[i]) return fmt::format("element {}: expected {}, got {}", i, w[i], g[i]);
    return "";
  }
  auto g = got.tolist<double>(), w = want.tolist<double>();
  double worst = 0;
  size_t worst_at = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i]) || std::isnan(g[i])) {
      if (std::isnan(w[i]) != std::isnan(g[i]))
        return fmt::format("element {}: expected {}, got {}", i, w[i], g[i]);
      continue;
    }
    if (std::isinf(w[i]) || std::isinf(g[i])) {
      if (w[i] != g[i]) return fmt::format("element {}: expected {}, got {}", i, w[i], g[i]);
      continue;
    }
    double excess = std::abs(g[i] - w[i]) - (tol.atol + tol.rtol * std::abs(w[i]));
    if (excess > worst) {
      worst = excess;
      worst_at = i;
    }
  }
  if (worst > 0)
    return fmt::format("element {}: expected {}, got {} (error {:.3g} beyond atol {} + rtol {})",
                       worst_at, w[worst_at], g[worst_at], std::abs(g[worst_at] - w[worst_at]),
                       tol.atol, tol.rtol);
  return "";
}

Tolerance default_tolerance(DType dtype) {
  if (dtype == DType::F32) return {1e-5, 1e-5};
  if (dtype == DType::F64) return {1e-12, 1e-12};
  return {0, 0};
}

std::string error_message(const std::function<void()> &fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e.what();
  } catch (const std::exception &e) {
    return std::string("<other exception: ") + e.what() + ">";
  }
  return "<no error>";
}

Tensor make(const std::vector<double> &values, const Shape &shape, DType dtype) {
  return from_vector(values, shape).to(dtype);
}

Tensor as_strided_copy(const Tensor &x) {
  if (x.dim() < 2) return x;
  std::vector<int64_t> reversed;
  for (int64_t d = x.dim() - 1; d >= 0; --d) reversed.push_back(d);
  return x.permute(reversed).contiguous().permute(reversed);
}

std::string run_capture(const std::string &cmd, int *status) {
  std::string out;
  FILE *pipe = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int st = pclose(pipe);
  if (status != nullptr) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::string read_bytes(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace kiln::test
