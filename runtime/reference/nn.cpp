// Composite nn kernels. Row-wise ops (softmax, norms) work on contiguous rows with
// 16-lane accumulators the compiler vectorises; softmax subtracts the row max first.
#include "runtime/reference/nn.h"

#include <cmath>
#include <limits>

#include "ir/diag.h"
#include "runtime/random.h"
#include "runtime/reference/elementwise.h"
#include "runtime/reference/fast_math.h"
#include "runtime/reference/strided_loop.h"
#include "runtime/storage.h"

namespace kiln::runtime {
namespace {

constexpr int kLanes = 16;

// A contiguous view of v: v itself, or a copy kept alive by `keep`.
View dense(const View &v, Storage &keep) {
  if (v.is_contiguous()) return {v.data, v.dtype, v.sizes, contiguous_strides(v.sizes)};
  keep = Storage::allocate(static_cast<size_t>(v.numel() * dtype_size(v.dtype)));
  View d{keep.data(), v.dtype, v.sizes, contiguous_strides(v.sizes)};
  convert_kernel(v, d);
  return d;
}

template <class T>
T row_max(const T *x, int64_t n) {
  T lanes[kLanes];
  for (T &l : lanes) l = -std::numeric_limits<T>::infinity();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
  T m = -std::numeric_limits<T>::infinity();
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  for (T l : lanes) m = l > m ? l : m;
  return m;
}

template <class T>
T row_sum(const T *x, int64_t n) {
  T lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += x[i + j];
  T s = 0;
  for (; i < n; ++i) s += x[i];
  for (T l : lanes) s += l;
  return s;
}

// y = exp(x - m) and returns the sum of y.
template <class T>
T exp_shifted(const T *x, T *y, int64_t n, T m) {
  for (int64_t i = 0; i < n; ++i) y[i] = k_exp(x[i] - m);
  return row_sum(y, n);
}

template <class T>
void softmax_rows(const T *x, T *y, int64_t rows, int64_t n, bool log) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t r = lo; r < hi; ++r) {
                   const T *xr = x + r * n;
                   T *yr = y + r * n;
                   T m = row_max(xr, n);
                   if (std::isinf(m))
                     m = m > 0 ? m : T(0);  // all -inf rows give NaN like torch, not garbage
                   T s = exp_shifted(xr, yr, n, m);
                   if (log) {
                     // (x - m) - log(s): subtracting m first keeps precision when |x| is large.
                     const T log_sum = std::log(s);
                     for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - m) - log_sum;
                   } else {
                     const T inv = T(1) / s;
                     for (int64_t i = 0; i < n; ++i) yr[i] *= inv;
                   }
                 }
               });
}

// Softmax over a middle dim: [outer, n, inner], vectorised across inner.
template <class T>
void softmax_columns(const T *x, T *y, int64_t outer, int64_t n, int64_t inner, bool log) {
  parallel_for(outer, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> m(inner), s(inner);
    for (int64_t o = lo; o < hi; ++o) {
      const T *xo = x + o * n * inner;
      T *yo = y + o * n * inner;
      std::fill(m.begin(), m.end(), -std::numeric_limits<T>::infinity());
      std::fill(s.begin(), s.end(), T(0));
      for (int64_t d = 0; d < n; ++d)
        for (int64_t i = 0; i < inner; ++i)
          m[i] = xo[d * inner + i] > m[i] ? xo[d * inner + i] : m[i];
      for (int64_t i = 0; i < inner; ++i)
        if (std::isinf(m[i])) m[i] = m[i] > 0 ? m[i] : T(0);
      for (int64_t d = 0; d < n; ++d)
        for (int64_t i = 0; i < inner; ++i) {
          T e = k_exp(xo[d * inner + i] - m[i]);
          yo[d * inner + i] = e;
          s[i] += e;
        }
      for (int64_t d = 0; d < n; ++d)
        for (int64_t i = 0; i < inner; ++i)
          yo[d * inner + i] =
              log ? xo[d * inner + i] - m[i] - std::log(s[i]) : yo[d * inner + i] / s[i];
    }
  });
}

template <class T>
void softmax(const View &x, const Attrs &attrs, const View &out, bool log) {
  const int64_t dim =
      normalize_dim(log ? "log_softmax" : "softmax", attrs.get_int("dim", -1), x.rank());
  const int64_t n = x.rank() == 0 ? 1 : x.sizes[dim];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < x.rank(); ++d) (d < dim ? outer : inner) *= d == dim ? 1 : x.sizes[d];
  if (inner == 1) return softmax_rows(x.ptr<T>(), out.ptr<T>(), outer, n, log);
  softmax_columns(x.ptr<T>(), out.ptr<T>(), outer, n, inner, log);
}

// layer_norm (rms=false) or rms_norm (rms=true) over rows of the trailing `axes` dims.
template <class T>
void norm(std::span<const View> in, const Attrs &attrs, const View &x, const View &out, bool rms) {
  const int64_t axes = attrs.get_int("axes", 1);
  const int64_t n = kiln::numel(std::span(x.sizes).subspan(x.sizes.size() - axes));
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  const double eps = attrs.get_double("eps", rms ? 1e-6 : 1e-5);
  Storage keep_w, keep_b;
  const T *w = in.size() > 1 ? dense(in[1], keep_w).ptr<T>() : nullptr;
  const T *b = in.size() > 2 ? dense(in[2], keep_b).ptr<T>() : nullptr;
  const T *xp = x.ptr<T>();
  T *yp = out.ptr<T>();
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t r = lo; r < hi; ++r) {
                   const T *xr = xp + r * n;
                   T *yr = yp + r * n;
                   T mean = rms ? T(0) : row_sum(xr, n) / T(n);
                   T lanes[kLanes] = {};
                   int64_t i = 0;
                   for (; i + kLanes <= n; i += kLanes)
                     for (int j = 0; j < kLanes; ++j)
                       lanes[j] += (xr[i + j] - mean) * (xr[i + j] - mean);
                   T var = 0;
                   for (; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
                   for (T l : lanes) var += l;
                   const T rstd = T(1) / std::sqrt(var / T(n) + T(eps));
                   for (int64_t k = 0; k < n; ++k) {
                     T v = (xr[k] - mean) * rstd;
                     if (w) v *= w[k];
                     if (b) v += b[k];
                     yr[k] = v;
                   }
                 }
               });
}

template <class T>
void dropout(const View &x, const Attrs &attrs, const View &out) {
  const double p = attrs.get_double("p", 0.5);
  const bool train = attrs.get_bool("train", true);
  if (!train || p == 0.0) return convert_kernel(x, out);
  const uint64_t seed = static_cast<uint64_t>(attrs.get_int("seed"));
  const uint64_t offset = static_cast<uint64_t>(attrs.get_int("offset"));
  const T scale = p >= 1.0 ? T(0) : T(1.0 / (1.0 - p));
  const T *xp = x.ptr<T>();
  T *yp = out.ptr<T>();
  parallel_for(x.numel(), kParallelGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      yp[i] = uniform01(seed, offset + i) < p ? T(0) : xp[i] * scale;
  });
}

template <class T>
T finish_loss(T total, int64_t count, const std::string &mode) {
  return mode == "sum" ? total : total / T(count);
}

template <class T>
void mse_loss(const View &a, const View &b, const Attrs &attrs, const View &out) {
  const std::string mode = attrs.get_string("reduction", "mean");
  const T *x = a.ptr<T>(), *y = b.ptr<T>();
  const int64_t n = a.numel();
  if (mode == "none") {
    for (int64_t i = 0; i < n; ++i) out.ptr<T>()[i] = (x[i] - y[i]) * (x[i] - y[i]);
    return;
  }
  double total = 0;
  for (int64_t i = 0; i < n; ++i)
    total += static_cast<double>(x[i] - y[i]) * static_cast<double>(x[i] - y[i]);
  out.ptr<T>()[0] = static_cast<T>(finish_loss<double>(total, n, mode));
}

template <class T, class I>
void cross_entropy(const View &logits, const View &target, const Attrs &attrs, const View &out) {
  const std::string mode = attrs.get_string("reduction", "mean");
  const int64_t ignore = attrs.get_int("ignore_index", -100);
  const bool batched = logits.rank() == 2;
  const int64_t rows = batched ? logits.sizes[0] : 1, classes = logits.sizes.back();
  const T *x = logits.ptr<T>();
  const I *t = target.ptr<I>();
  double total = 0;
  int64_t counted = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t cls = static_cast<int64_t>(t[r]);
    double loss = 0;
    if (cls != ignore) {
      if (cls < 0 || cls >= classes)
        fail("cross_entropy: target {} at position {} is out of range for {} classes", cls, r,
             classes);
      const T *xr = x + r * classes;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < classes; ++c) m = std::max(m, static_cast<double>(xr[c]));
      double s = 0;
      for (int64_t c = 0; c < classes; ++c) s += std::exp(static_cast<double>(xr[c]) - m);
      loss = m + std::log(s) - static_cast<double>(xr[cls]);
      total += loss;
      ++counted;
    }
    if (mode == "none") out.ptr<T>()[r] = static_cast<T>(loss);
  }
  if (mode != "none") out.ptr<T>()[0] = static_cast<T>(finish_loss<double>(total, counted, mode));
}

template <class I>
int64_t checked_index(OpKind op, I value, int64_t pos, int64_t limit) {
  const int64_t v = static_cast<int64_t>(value);
  if (v < 0 || v >= limit)
    fail("{}: index {} at position {} is out of range: expected a value in [0, {})", op_name(op), v,
         pos, limit);
  return v;
}

template <class I>
void embedding(const View &weight, const View &indices, const View &out) {
  const int64_t rows = weight.sizes[0], dim = weight.sizes[1];
  const int64_t esize = dtype_size(weight.dtype);
  const I *idx = indices.ptr<I>();
  for (int64_t i = 0; i < indices.numel(); ++i) {
    const int64_t row = checked_index(OpKind::Embedding, idx[i], i, rows);
    View src{
        weight.data + row * weight.strides[0] * esize, weight.dtype, {dim}, {weight.strides[1]}};
    convert_kernel(src, View{out.data + i * dim * esize, out.dtype, {dim}, {1}});
  }
}

template <class I>
void one_hot(const View &x, const View &out) {
  const int64_t classes = out.sizes.back();
  const I *idx = x.ptr<I>();
  int64_t *o = out.ptr<int64_t>();
  std::fill(o, o + out.numel(), int64_t{0});
  for (int64_t i = 0; i < x.numel(); ++i)
    o[i * classes + checked_index(OpKind::OneHot, idx[i], i, classes)] = 1;
}

template <class Fn>
void visit_index_dtype(DType d, Fn &&fn) {
  if (d == DType::I32) return fn.template operator()<int32_t>();
  KILN_CHECK(d == DType::I64, "index dtype {} reached the kernel", dtype_name(d));
  fn.template operator()<int64_t>();
}

template <class Fn>
void visit_float_dtype(DType d, Fn &&fn) {
  if (d == DType::F32) return fn.template operator()<float>();
  KILN_CHECK(d == DType::F64, "dtype {} reached a float kernel", dtype_name(d));
  fn.template operator()<double>();
}

}  // namespace

void nn_kernel(OpKind op, std::span<const View> in, const Attrs &attrs, const View &out) {
  Storage keep0, keep1;
  switch (op) {
    case OpKind::Embedding: {
      View idx = dense(in[1], keep1);
      return visit_index_dtype(idx.dtype, [&]<class I>() { embedding<I>(in[0], idx, out); });
    }
    case OpKind::OneHot: {
      View idx = dense(in[0], keep0);
      return visit_index_dtype(idx.dtype, [&]<class I>() { one_hot<I>(idx, out); });
    }
    default: break;
  }
  const View x = dense(in[0], keep0);
  visit_float_dtype(x.dtype, [&]<class T>() {
    switch (op) {
      case OpKind::Softmax: return softmax<T>(x, attrs, out, false);
      case OpKind::LogSoftmax: return softmax<T>(x, attrs, out, true);
      case OpKind::LayerNorm: return norm<T>(in, attrs, x, out, false);
      case OpKind::RmsNorm: return norm<T>(in, attrs, x, out, true);
      case OpKind::Dropout: return dropout<T>(x, attrs, out);
      case OpKind::MseLoss: return mse_loss<T>(x, dense(in[1], keep1), attrs, out);
      case OpKind::CrossEntropy: {
        View t = dense(in[1], keep1);
        return visit_index_dtype(t.dtype,
                                 [&]<class I>() { cross_entropy<T, I>(x, t, attrs, out); });
      }
      default: KILN_UNREACHABLE("{} is not an nn op", op_name(op));
    }
  });
}

}  // namespace kiln::runtime
