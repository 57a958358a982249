// Source kernels fill a contiguous output from attributes. Integer attributes are read
// exactly (an i64 fill of 2^62 stays exact); random ops draw element i from counter
// offset + i, so the result is the same for any thread count.
#include "runtime/reference/source.h"

#include <cmath>
#include <type_traits>

#include "ir/diag.h"
#include "runtime/random.h"
#include "runtime/reference/strided_loop.h"

namespace kiln::runtime {
namespace {

template <class T>
T scalar_attr(const Attrs &attrs, std::string_view key) {
  const AttrValue *v = attrs.find(key);
  if (v == nullptr) return T(0);
  if (const int64_t *i = std::get_if<int64_t>(v)) return static_cast<T>(*i);
  if (const bool *b = std::get_if<bool>(v)) return static_cast<T>(*b);
  return static_cast<T>(attrs.get_double(key));
}

template <class T, class F>
void fill(const View &out, F f) {
  T *o = out.ptr<T>();
  parallel_for(out.numel(), kParallelGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) o[i] = f(i);
  });
}

template <class T>
void source_typed(OpKind op, const Attrs &attrs, const View &out) {
  const uint64_t seed = static_cast<uint64_t>(attrs.get_int("seed"));
  const uint64_t offset = static_cast<uint64_t>(attrs.get_int("offset"));
  switch (op) {
    case OpKind::Full: {
      const T value = scalar_attr<T>(attrs, "value");
      return fill<T>(out, [=](int64_t) { return value; });
    }
    case OpKind::Arange: {
      // Integer start and step (an integer arange) count exactly in int64; otherwise
      // values are computed in f64 and converted, as PyTorch does.
      const AttrValue *start_attr = attrs.find("start");
      const AttrValue *step_attr = attrs.find("step");
      const bool exact = (!start_attr || std::holds_alternative<int64_t>(*start_attr)) &&
                         (!step_attr || std::holds_alternative<int64_t>(*step_attr));
      if (exact && !std::is_floating_point_v<T>) {
        const int64_t start = attrs.get_int("start"), step = attrs.get_int("step", 1);
        return fill<T>(out, [=](int64_t i) { return static_cast<T>(start + i * step); });
      }
      const double start = attrs.get_double("start"), step = attrs.get_double("step", 1.0);
      return fill<T>(
          out, [=](int64_t i) { return static_cast<T>(start + static_cast<double>(i) * step); });
    }
    case OpKind::Linspace: {
      const double start = attrs.get_double("start"), end = attrs.get_double("end");
      const int64_t n = out.numel();
      const double step = n > 1 ? (end - start) / static_cast<double>(n - 1) : 0.0;
      // Fill from both ends so the last element is exactly `end` (and a single step is
      // `start`); integer dtypes truncate like PyTorch.
      const int64_t half = n / 2;
      return fill<T>(out, [=](int64_t i) {
        double v = i < half || n == 1 ? start + step * i : end - step * (n - 1 - i);
        return static_cast<T>(v);
      });
    }
    case OpKind::Eye: {
      const int64_t cols = out.sizes[1];
      return fill<T>(out, [=](int64_t i) { return static_cast<T>(i / cols == i % cols); });
    }
    case OpKind::Rand:
      return fill<T>(out, [=](int64_t i) {
        double u = uniform01(seed, offset + i);
        // Round down to the target precision so a float never rounds up to 1.0.
        if constexpr (std::is_same_v<T, float>)
          return static_cast<T>(std::floor(u * 0x1p24) * 0x1p-24);
        return static_cast<T>(u);
      });
    case OpKind::Randn:
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        T *o = out.ptr<T>();
        return parallel_for(out.numel(), kParallelGrain,
                            [&](int64_t lo, int64_t hi) { fill_normal(seed, offset, lo, hi, o); });
      }
      return fill<T>(out, [=](int64_t i) { return static_cast<T>(normal01(seed, offset + i)); });
    case OpKind::Randint: {
      const int64_t low = attrs.get_int("low"), high = attrs.get_int("high");
      const uint64_t range = static_cast<uint64_t>(high - low);
      return fill<T>(out, [=](int64_t i) {
        auto r = philox(seed, offset + i);
        uint64_t bits = (uint64_t{r[0]} << 32) | r[1];
        return static_cast<T>(low + static_cast<int64_t>(bits % range));
      });
    }
    default: KILN_UNREACHABLE("{} is not a source op", op_name(op));
  }
}

}  // namespace

void source_kernel(OpKind op, const Attrs &attrs, const View &out) {
  visit_dtype(out.dtype, [&]<class T>() { source_typed<T>(op, attrs, out); });
}

}  // namespace kiln::runtime
