// Reductions run on rows: the input is viewed with kept dims first and reduced dims last;
// when the reduced part is not one unit-stride run it is first copied contiguous. Each
// output element then reduces one contiguous row. Float sums accumulate in f64 across
// eight independent lanes (vectorisable, and far more accurate than one f32 running sum).
#include "runtime/reference/reduce.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "ir/diag.h"
#include "ir/infer.h"
#include "runtime/reference/elementwise.h"
#include "runtime/reference/strided_loop.h"
#include "runtime/storage.h"

namespace kiln::runtime {
namespace {

template <class T>
using Wide = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class T>
Wide<T> row_sum(const T *x, int64_t n) {
  Wide<T> lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] += static_cast<Wide<T>>(x[i + j]);
  Wide<T> total = 0;
  for (; i < n; ++i) total += static_cast<Wide<T>>(x[i]);
  for (int j = 0; j < 8; ++j) total += lanes[j];
  return total;
}

template <class T>
bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) return x != x;
  return false;
}

// Index of the first maximum (want_max) or minimum; a NaN counts as the extreme.
template <class T>
int64_t row_arg(const T *x, int64_t n, bool want_max) {
  int64_t best = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (is_nan(x[i])) return i;
    if (want_max ? x[i] > x[best] : x[i] < x[best]) best = i;
  }
  return best;
}

template <class T>
double row_var(const T *x, int64_t n, double correction) {
  double mean = static_cast<double>(row_sum(x, n)) / static_cast<double>(n);
  double lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) {
      double d = static_cast<double>(x[i + j]) - mean;
      lanes[j] += d * d;
    }
  double m2 = 0;
  for (; i < n; ++i) m2 += (static_cast<double>(x[i]) - mean) * (static_cast<double>(x[i]) - mean);
  for (double l : lanes) m2 += l;
  return m2 / std::max(0.0, static_cast<double>(n) - correction);
}

template <class T>
double row_logsumexp(const T *x, int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    if (is_nan(x[i])) return static_cast<double>(x[i]);
    m = std::max(m, static_cast<double>(x[i]));
  }
  if (std::isinf(m)) return m;
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - m);
  return m + std::log(s);
}

template <class T, class R>
R reduce_row(OpKind op, const T *x, int64_t n, double correction) {
  switch (op) {
    case OpKind::Sum: return static_cast<R>(row_sum(x, n));
    case OpKind::Mean: return static_cast<R>(static_cast<double>(row_sum(x, n)) / n);
    case OpKind::Prod: {
      Wide<T> p = 1;
      for (int64_t i = 0; i < n; ++i) p *= static_cast<Wide<T>>(x[i]);
      return static_cast<R>(p);
    }
    case OpKind::Max:
    case OpKind::Min: {
      const bool want_max = op == OpKind::Max;
      return static_cast<R>(x[row_arg(x, n, want_max)]);
    }
    case OpKind::Argmax: return static_cast<R>(row_arg(x, n, true));
    case OpKind::Argmin: return static_cast<R>(row_arg(x, n, false));
    case OpKind::Var: return static_cast<R>(row_var(x, n, correction));
    case OpKind::Std: return static_cast<R>(std::sqrt(row_var(x, n, correction)));
    case OpKind::All: {
      bool all = true;
      for (int64_t i = 0; i < n; ++i) all = all && x[i] != T(0);
      return static_cast<R>(all);
    }
    case OpKind::Any: {
      bool any = false;
      for (int64_t i = 0; i < n; ++i) any = any || x[i] != T(0);
      return static_cast<R>(any);
    }
    case OpKind::Logsumexp: return static_cast<R>(row_logsumexp(x, n));
    default: KILN_UNREACHABLE("{} is not a reduction", op_name(op));
  }
}

// True when the trailing `count` dims of v form one unit-stride run.
bool trailing_contiguous(const View &v, size_t count) {
  return is_contiguous(std::span(v.sizes).last(count), std::span(v.strides).last(count));
}

}  // namespace

void reduce_kernel(OpKind op, const View &in, const Attrs &attrs, const View &out) {
  std::vector<int64_t> dims = reduced_dims(op, {in.dtype, in.sizes}, attrs);
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < in.rank(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) perm.push_back(d);
  const size_t kept = perm.size();
  perm.insert(perm.end(), dims.begin(), dims.end());

  View rows{in.data, in.dtype, {}, {}};
  for (int64_t p : perm) {
    rows.sizes.push_back(in.sizes[p]);
    rows.strides.push_back(in.strides[p]);
  }
  Storage copy;
  if (!trailing_contiguous(rows, dims.size())) {
    copy = Storage::allocate(static_cast<size_t>(rows.numel() * dtype_size(in.dtype)));
    View dense{copy.data(), in.dtype, rows.sizes, contiguous_strides(rows.sizes)};
    convert_kernel(rows, dense);
    rows = dense;
  }
  const Shape kept_sizes(rows.sizes.begin(), rows.sizes.begin() + kept);
  const int64_t outputs = kiln::numel(kept_sizes);
  const int64_t n = kiln::numel(std::span(rows.sizes).subspan(kept));
  const double correction = static_cast<double>(attrs.get_int("correction", 1));

  visit_dtype(in.dtype, [&]<class T>() {
    visit_dtype(out.dtype, [&]<class R>() {
      R *o = out.ptr<R>();
      parallel_for(outputs, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
                   [&](int64_t lo, int64_t hi) {
                     for (int64_t j = lo; j < hi; ++j) {
                       int64_t offset = 0, rem = j;
                       for (size_t d = kept; d-- > 0;) {
                         offset += (rem % kept_sizes[d]) * rows.strides[d];
                         rem /= kept_sizes[d];
                       }
                       o[j] = reduce_row<T, R>(op, rows.ptr<T>() + offset, n, correction);
                     }
                   });
    });
  });
}

}  // namespace kiln::runtime
