// Guard layout in flat_, per argument:
//   tensor: kind, dtype (| kRequiresGrad), device kind, device index, rank, sizes...,
//           contiguous(0/1), strides... (only when not contiguous); a symbolic size s<k> is
//           stored as -(k+1)
//   scalar: kind, value bits (int64, double bits, or bool); a scalar read at each call (a
//           runtime input of the graph) has kRuntimeValue in its kind and any value passes
#include "guards/guard_set.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <bit>

#include "ir/diag.h"
#include "ir/shape.h"

namespace kiln::guards {
namespace {

constexpr int64_t kRuntimeValue = int64_t{1} << 8;  // or'ed into a scalar row's kind
constexpr int64_t kRequiresGrad = int64_t{1} << 8;  // or'ed into a tensor row's dtype

int64_t dtype_fact(const ArgDesc &a) {
  return static_cast<int64_t>(a.dtype) | (a.requires_grad ? kRequiresGrad : 0);
}

int64_t scalar_bits(const ArgDesc &a) {
  switch (a.kind) {
    case ArgDesc::Kind::Double: return std::bit_cast<int64_t>(a.double_value);
    case ArgDesc::Kind::Int:
    case ArgDesc::Kind::Bool: return a.int_value;
    case ArgDesc::Kind::Tensor: break;
  }
  KILN_UNREACHABLE("scalar_bits of a tensor");
}

std::string_view kind_name(ArgDesc::Kind k) {
  switch (k) {
    case ArgDesc::Kind::Tensor: return "a tensor";
    case ArgDesc::Kind::Int: return "an int";
    case ArgDesc::Kind::Double: return "a double";
    case ArgDesc::Kind::Bool: return "a bool";
  }
  return "?";
}

Device device_of(int64_t kind, int64_t index) {
  return kind == 0 ? Device::cpu() : Device::cuda(static_cast<int>(index));
}

std::string scalar_text(ArgDesc::Kind kind, int64_t bits) {
  ArgDesc a;
  a.kind = kind;
  a.int_value = bits;
  a.double_value = std::bit_cast<double>(bits);
  return format_scalar(a);
}

}  // namespace

std::string format_scalar(const ArgDesc &arg) {
  switch (arg.kind) {
    case ArgDesc::Kind::Int: return fmt::format("{}", arg.int_value);
    case ArgDesc::Kind::Bool: return arg.int_value ? "true" : "false";
    case ArgDesc::Kind::Double: {
      std::string s = fmt::format("{}", arg.double_value);
      if (s.find_first_of(".en") == std::string::npos) s += ".0";
      return s;
    }
    case ArgDesc::Kind::Tensor: break;
  }
  return "<tensor>";
}

GuardSet GuardSet::capture(std::span<const ArgDesc> args, std::span<const std::string> names,
                           std::span<const SymbolicDim> symbols, std::span<const int32_t> params,
                           std::span<const int32_t> runtime_rows) {
  KILN_CHECK(args.size() == names.size(), "guard names do not match arguments");
  KILN_CHECK(params.empty() || params.size() == names.size(),
             "guard parameters do not match arguments");
  GuardSet g;
  g.names_.assign(names.begin(), names.end());
  for (size_t i = 0; i < names.size(); ++i)
    g.params_.push_back(params.empty() ? static_cast<int32_t>(i) : params[i]);
  for (const SymbolicDim &s : symbols) {
    KILN_CHECK(s.symbol >= 0 && s.symbol < kMaxSymbols, "symbol s{} out of range", s.symbol);
    KILN_CHECK(args[s.row].kind == ArgDesc::Kind::Tensor &&
                   is_contiguous(args[s.row].sizes, args[s.row].strides),
               "a symbolic dim needs a contiguous tensor argument");
    g.num_symbols_ = std::max(g.num_symbols_, s.symbol + 1);
  }
  for (size_t row = 0; row < args.size(); ++row) {
    const ArgDesc &a = args[row];
    const bool runtime = std::find(runtime_rows.begin(), runtime_rows.end(),
                                   static_cast<int32_t>(row)) != runtime_rows.end();
    KILN_CHECK(!runtime || a.kind == ArgDesc::Kind::Double || a.kind == ArgDesc::Kind::Int,
               "only a double or an int is a runtime input");
    g.flat_.push_back(static_cast<int64_t>(a.kind) | (runtime ? kRuntimeValue : 0));
    if (a.kind != ArgDesc::Kind::Tensor) {
      g.flat_.push_back(scalar_bits(a));
      continue;
    }
    g.flat_.push_back(dtype_fact(a));
    g.flat_.push_back(static_cast<int64_t>(a.device.kind));
    g.flat_.push_back(a.device.index);
    g.flat_.push_back(static_cast<int64_t>(a.sizes.size()));
    const size_t first = g.flat_.size();
    g.flat_.insert(g.flat_.end(), a.sizes.begin(), a.sizes.end());
    for (const SymbolicDim &s : symbols)
      if (s.row == static_cast<int32_t>(row)) g.flat_[first + s.dim] = -(s.symbol + 1);
    const bool dense = is_contiguous(a.sizes, a.strides);
    g.flat_.push_back(dense);
    if (!dense) g.flat_.insert(g.flat_.end(), a.strides.begin(), a.strides.end());
  }
  return g;
}

bool GuardSet::check(std::span<const ArgDesc> args) const {
  std::array<int64_t, kMaxSymbols> bindings;
  return check(args, bindings);
}

bool GuardSet::check(std::span<const ArgDesc> args, std::span<int64_t> bindings) const {
  if (args.size() != names_.size()) return false;
  std::fill_n(bindings.begin(), num_symbols_, 0);
  const int64_t *p = flat_.data();
  for (const ArgDesc &a : args) {
    const int64_t kind = *p++;
    if ((kind & ~kRuntimeValue) != static_cast<int64_t>(a.kind)) return false;
    if (a.kind != ArgDesc::Kind::Tensor) {
      if ((kind & kRuntimeValue) == 0 && *p != scalar_bits(a)) return false;
      ++p;
      continue;
    }
    if (*p++ != dtype_fact(a)) return false;
    if (*p++ != static_cast<int64_t>(a.device.kind)) return false;
    if (*p++ != a.device.index) return false;
    const int64_t rank = *p++;
    if (rank != static_cast<int64_t>(a.sizes.size())) return false;
    for (int64_t d = 0; d < rank; ++d) {
      if (p[d] >= 0) {
        if (p[d] != a.sizes[d]) return false;
        continue;
      }
      // A symbol binds at its first dim; sizes 0 and 1 are never symbolic (they change
      // broadcasting and emptiness, so a trace may not hold for them).
      int64_t &bound = bindings[-p[d] - 1];
      if (a.sizes[d] < 2 || (bound != 0 && bound != a.sizes[d])) return false;
      bound = a.sizes[d];
    }
    p += rank;
    const bool dense = *p++ != 0;
    if (dense) {
      if (!is_contiguous(a.sizes, a.strides)) return false;
      continue;
    }
    for (int64_t d = 0; d < rank; ++d)
      if (p[d] != a.strides[d]) return false;
    p += rank;
  }
  return true;
}

std::vector<std::pair<int32_t, int32_t>> GuardSet::changed_dims(
    std::span<const ArgDesc> args) const {
  if (args.size() != names_.size()) return {};
  std::vector<std::pair<int32_t, int32_t>> out;
  const int64_t *p = flat_.data();
  for (size_t row = 0; row < args.size(); ++row) {
    const ArgDesc &a = args[row];
    if ((*p++ & ~kRuntimeValue) != static_cast<int64_t>(a.kind)) return {};
    if (a.kind != ArgDesc::Kind::Tensor) {
      ++p;
      continue;
    }
    p += 3;  // dtype, device kind and index
    const int64_t rank = *p++;
    if (rank != static_cast<int64_t>(a.sizes.size())) return {};
    for (int64_t d = 0; d < rank; ++d)
      if (p[d] < 0 || p[d] != a.sizes[d])
        out.push_back({static_cast<int32_t>(row), static_cast<int32_t>(d)});
    p += rank;
    if (*p++ == 0) p += rank;  // strides of a non-contiguous tensor
  }
  return out;
}

GuardSet::Miss GuardSet::explain_miss(std::span<const ArgDesc> args) const {
  const int64_t *p = flat_.data();
  int passed = 0;
  std::array<int64_t, kMaxSymbols> bound{};
  std::array<std::string, kMaxSymbols> bound_by;
  // Rows are compared first, so a vector<Tensor> of another length says so by its size guard.
  const size_t rows = std::min(args.size(), names_.size());
  for (size_t i = 0; i < rows; ++i) {
    const ArgDesc &a = args[i];
    const std::string who = fmt::format("'{}' (arg {})", names_[i], params_[i]);
    const bool runtime = (*p & kRuntimeValue) != 0;
    const auto kind = static_cast<ArgDesc::Kind>(*p++ & ~kRuntimeValue);
    if (kind != a.kind)
      return {passed, fmt::format("argument {} kind mismatch: expected {}, got {}", who,
                                  kind_name(kind), kind_name(a.kind))};
    ++passed;
    if (kind != ArgDesc::Kind::Tensor) {
      const int64_t bits = *p++;
      if (!runtime && bits != scalar_bits(a))
        return {passed, fmt::format("scalar {} value mismatch: expected {}, got {}{}", who,
                                    scalar_text(kind, bits), format_scalar(a),
                                    kind == ArgDesc::Kind::Bool || names_[i].ends_with(".size()")
                                        ? ""
                                        : " (CompileOptions::runtime_scalars can read it at "
                                          "each call)")};
      ++passed;
      continue;
    }
    const auto dtype = static_cast<DType>(*p & ~kRequiresGrad);
    const bool requires_grad = (*p++ & kRequiresGrad) != 0;
    if (dtype != a.dtype)
      return {passed, fmt::format("tensor {} dtype mismatch: expected {}, got {}", who,
                                  dtype_name(dtype), dtype_name(a.dtype))};
    if (requires_grad != a.requires_grad)
      return {passed, fmt::format("tensor {} requires_grad mismatch: expected {}, got {}", who,
                                  requires_grad, a.requires_grad)};
    ++passed;
    const Device device = device_of(p[0], p[1]);
    p += 2;
    if (device != a.device)
      return {passed, fmt::format("tensor {} device mismatch: expected {}, got {}", who,
                                  device.name(), a.device.name())};
    ++passed;
    const int64_t rank = *p++;
    if (rank != static_cast<int64_t>(a.sizes.size()))
      return {passed, fmt::format("tensor {} rank mismatch: expected {}, got {}", who, rank,
                                  a.sizes.size())};
    ++passed;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t got = a.sizes[d];
      if (p[d] >= 0 && p[d] != got)
        return {passed, fmt::format("tensor {} size mismatch at dim {}: expected {}, got {}", who,
                                    d, p[d], got)};
      if (p[d] < 0) {
        const int64_t k = -p[d] - 1;
        if (got < 2)
          return {passed,
                  fmt::format("tensor {} size mismatch at dim {}: expected s{} >= 2, got {}", who,
                              d, k, got)};
        if (bound[k] != 0 && bound[k] != got)
          return {
              passed,
              fmt::format("tensor {} size mismatch at dim {}: expected s{} = {} (as {}), got {}",
                          who, d, k, bound[k], bound_by[k], got)};
        if (bound[k] == 0) {
          bound[k] = got;
          bound_by[k] = fmt::format("tensor '{}' dim {}", names_[i], d);
        }
      }
      ++passed;
    }
    p += rank;
    const bool dense = *p++ != 0;
    if (dense) {
      if (!is_contiguous(a.sizes, a.strides))
        return {passed,
                fmt::format("tensor {} layout mismatch: expected contiguous, got strides {}", who,
                            format_shape(a.strides))};
      ++passed;
      continue;
    }
    std::span<const int64_t> strides(p, static_cast<size_t>(rank));
    if (!std::equal(strides.begin(), strides.end(), a.strides.begin(), a.strides.end()))
      return {passed, fmt::format("tensor {} stride mismatch: expected {}, got {}", who,
                                  format_shape(strides), format_shape(a.strides))};
    ++passed;
    p += rank;
  }
  if (args.size() != names_.size())
    return {passed, fmt::format("argument count mismatch: expected {}, got {}", names_.size(),
                                args.size())};
  return {passed, ""};  // every guard held
}

std::vector<std::string> GuardSet::describe() const {
  std::vector<std::string> out;
  std::vector<std::string> symbols(static_cast<size_t>(num_symbols_));
  const int64_t *p = flat_.data();
  for (size_t i = 0; i < names_.size(); ++i) {
    const bool runtime = (*p & kRuntimeValue) != 0;
    const auto kind = static_cast<ArgDesc::Kind>(*p++ & ~kRuntimeValue);
    if (kind != ArgDesc::Kind::Tensor) {
      const int64_t bits = *p++;
      out.push_back(runtime ? fmt::format("scalar '{}' (arg {}): {}, read at each call (a "
                                          "runtime input, not guarded by value)",
                                          names_[i], params_[i], kind_name(kind))
                            : fmt::format("scalar '{}' (arg {}) == {}", names_[i], params_[i],
                                          scalar_text(kind, bits)));
      continue;
    }
    const auto dtype = static_cast<DType>(*p & ~kRequiresGrad);
    const bool requires_grad = (*p++ & kRequiresGrad) != 0;
    const Device device = device_of(p[0], p[1]);
    p += 2;
    const int64_t rank = *p++;
    std::vector<std::string> sizes;
    for (int64_t d = 0; d < rank; ++d) {
      if (p[d] >= 0) {
        sizes.push_back(fmt::format("{}", p[d]));
        continue;
      }
      const size_t k = static_cast<size_t>(-p[d] - 1);
      sizes.push_back(fmt::format("s{}", k));
      if (symbols[k].empty())
        symbols[k] = fmt::format("symbol s{} >= 2: tensor '{}' (arg {}) dim {}", k, names_[i],
                                 params_[i], d);
    }
    p += rank;
    const bool dense = *p++ != 0;
    std::string layout = "contiguous";
    if (!dense) {
      layout = fmt::format("strides {}",
                           format_shape(std::span<const int64_t>(p, static_cast<size_t>(rank))));
      p += rank;
    }
    out.push_back(fmt::format("tensor '{}' (arg {}): {}[{}] on {}, {}{}", names_[i], params_[i],
                              dtype_name(dtype), fmt::join(sizes, ","), device.name(), layout,
                              requires_grad ? ", requires grad" : ""));
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
  return out;
}

}  // namespace kiln::guards
