// Kernel IR → CUDA C text: the prelude of op helpers, then each kernel as a grid-stride
// loop over its parallel loop with everything inside it sequential per thread.
#include "lowering/cuda_nvrtc/emit_cuda.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "ir/diag.h"

namespace kiln::lower::cuda {
namespace {

// Device and host (emulation) alike: NVRTC defines __CUDACC__; the host prelude
// (emulate.cpp) defines __global__ and friends and includes <cmath>.
constexpr std::string_view kPrelude = R"(// kiln CUDA prelude
#ifdef __CUDACC__
#define KILN_DEV __device__ __forceinline__
KILN_DEV float kiln_f32_bits(unsigned b) { return __int_as_float((int)b); }
KILN_DEV double kiln_f64_bits(unsigned long long b) { return __longlong_as_double((long long)b); }
#else
#define KILN_DEV static inline
static inline float kiln_f32_bits(unsigned b) { float f; memcpy(&f, &b, 4); return f; }
static inline double kiln_f64_bits(unsigned long long b) { double d; memcpy(&d, &b, 8); return d; }
#endif
template <class T> KILN_DEV bool kiln_isnan(T x) { return x != x; }
// NaN-propagating, as eager's nan_max/nan_min (bool: or/and).
template <class T> KILN_DEV T kiln_max(T x, T y) {
  T r = x > y ? x : y;
  r = kiln_isnan(y) ? y : r;
  return kiln_isnan(x) ? x : r;
}
template <class T> KILN_DEV T kiln_min(T x, T y) {
  T r = x < y ? x : y;
  r = kiln_isnan(y) ? y : r;
  return kiln_isnan(x) ? x : r;
}
// Float to integer: NaN to 0, out of range saturates (eager's convert_value).
template <class I, class F> KILN_DEV I kiln_f2i(F x, I lo, I hi) {
  if (x != x) return 0;
  if (x <= (F)lo) return lo;
  if (x >= (F)hi) return hi;
  return (I)x;
}
#define KILN_MATH1(name, f32, f64) \
  KILN_DEV float name(float x) { return f32(x); } \
  KILN_DEV double name(double x) { return f64(x); }
KILN_MATH1(kiln_exp, expf, exp)
KILN_MATH1(kiln_log, logf, log)
KILN_MATH1(kiln_log1p, log1pf, log1p)
KILN_MATH1(kiln_expm1, expm1f, expm1)
KILN_MATH1(kiln_sin, sinf, sin)
KILN_MATH1(kiln_cos, cosf, cos)
KILN_MATH1(kiln_tanh, tanhf, tanh)
KILN_MATH1(kiln_erf, erff, erf)
KILN_MATH1(kiln_sqrt, sqrtf, sqrt)
KILN_MATH1(kiln_floor, floorf, floor)
KILN_MATH1(kiln_ceil, ceilf, ceil)
KILN_MATH1(kiln_rint, rintf, rint)
KILN_DEV float kiln_pow(float x, float y) { return powf(x, y); }
KILN_DEV double kiln_pow(double x, double y) { return pow(x, y); }
KILN_DEV float kiln_fmod(float x, float y) { return fmodf(x, y); }
KILN_DEV double kiln_fmod(double x, double y) { return fmod(x, y); }
KILN_DEV float kiln_fma(float x, float y, float z) { return fmaf(x, y, z); }
KILN_DEV double kiln_fma(double x, double y, double z) { return fma(x, y, z); }
template <class T> KILN_DEV T kiln_sigmoid(T x) { return (T)1 / ((T)1 + kiln_exp(-x)); }

)";

std::string c_type(DType d) {
  switch (d) {
    case DType::Bool: return "bool";
    case DType::I32: return "int";
    case DType::I64: return "long long";
    case DType::F32: return "float";
    case DType::F64: return "double";
  }
  KILN_UNREACHABLE("dtype");
}

std::string memory_type(DType d) { return d == DType::Bool ? "unsigned char" : c_type(d); }

std::string int_literal(int64_t v) {
  if (v == std::numeric_limits<int64_t>::min()) return "(-9223372036854775807LL - 1)";
  return fmt::format("{}LL", v);
}

// A constant of `dtype` holding `value` exactly (floats by their bits: NaN and -0 too).
std::string literal(DType dtype, double value) {
  switch (dtype) {
    case DType::Bool: return value != 0 ? "true" : "false";
    case DType::I32: return fmt::format("(int){}", int_literal(static_cast<int64_t>(value)));
    case DType::I64: return int_literal(static_cast<int64_t>(value));
    case DType::F32:
      return fmt::format("kiln_f32_bits(0x{:08x}u)",
                         std::bit_cast<uint32_t>(static_cast<float>(value)));
    case DType::F64:
      return fmt::format("kiln_f64_bits(0x{:016x}ull)", std::bit_cast<uint64_t>(value));
  }
  KILN_UNREACHABLE("dtype");
}

std::string sym(const ir::SymExpr &e) {
  std::string out = int_literal(e.constant_term());
  for (const ir::SymExpr::Term &t : e.terms()) {
    std::string term = int_literal(t.coefficient);
    for (size_t k = 0; k < t.powers.size(); ++k)
      for (int p = 0; p < t.powers[k]; ++p) term += fmt::format(" * s{}", k);
    out += " + " + term;
  }
  return e.is_constant() ? out : "(" + out + ")";
}

class Emitter {
 public:
  Emitter(const Kernel &k, std::string &out) : k_(k), out_(out) {}

  void emit(const std::string &symbol) {
    out_ += fmt::format(
        "extern \"C\" __global__ void {}(void *const *args, const long long *sizes, long long "
        "begin, long long end) {{\n",
        symbol);
    uint32_t used = 0;
    auto see = [&](const ir::SymExpr &e) { used |= e.symbols(); };
    for (const Loop &l : k_.loops) see(l.extent);
    for (const Scalar &s : k_.scalars) {
      see(s.size);
      see(s.index.offset);
      for (const auto &st : s.index.strides) see(st);
    }
    walk_stores(k_.body, see);
    for (int s = 0; s < ir::kMaxSymbols; ++s)
      if (used & (1u << s)) out_ += fmt::format("  const long long s{} = sizes[{}];\n", s, s);
    if (used == 0) out_ += "  (void)sizes;\n";
    for (size_t a = 0; a < k_.accs.size(); ++a)
      out_ += fmt::format("  {} a{};\n", c_type(k_.accs[a].dtype), a);
    // A row of scratch: per thread (local memory on a device); C has no empty arrays.
    for (size_t a = 0; a < k_.args.size(); ++a)
      if (k_.args[a].scratch)
        out_ += fmt::format("  {} kiln_row{}[{}];\n", memory_type(k_.args[a].dtype), a,
                            std::max<int64_t>(1, k_.args[a].numel.constant()));
    block(k_.body, 1);
    out_ += "}\n\n";
  }

 private:
  const Kernel &k_;
  std::string &out_;

  template <class F>
  void walk_stores(const std::vector<Stmt> &stmts, F &&see) {
    for (const Stmt &st : stmts) {
      if (st.kind == Stmt::Kind::Store) {
        see(st.index.offset);
        for (const auto &s : st.index.strides) see(s);
      }
      walk_stores(st.body, see);
    }
  }

  std::string index(const Index &i) const {
    std::string out = sym(i.offset);
    for (size_t l = 0; l < i.strides.size(); ++l)
      if (!(i.strides[l] == 0)) out += fmt::format(" + {} * i{}", sym(i.strides[l]), l);
    return out;
  }

  std::string v(int32_t id) const { return fmt::format("v{}", id); }

  // The buffer of arg `a` as an array expression: the runtime's pointer, or the thread's row.
  std::string buffer(int32_t a, bool read) const {
    const KernelArg &arg = k_.args[a];
    if (arg.scratch) return fmt::format("kiln_row{}", a);
    return fmt::format("(({}{} *)args[{}])", memory_type(arg.dtype), read ? " const" : "", a);
  }

  std::string scalar(const Scalar &s) const {
    switch (s.kind) {
      case Scalar::Kind::Load: {
        const std::string at = fmt::format("{}[{}]", buffer(s.arg, true), index(s.index));
        return s.dtype == DType::Bool ? "(" + at + " != 0)" : at;
      }
      case Scalar::Kind::Constant:
        return is_integral(s.dtype) && s.dtype != DType::Bool
                   ? fmt::format("({}){}", c_type(s.dtype), int_literal(s.int_value))
                   : literal(s.dtype, s.value);
      case Scalar::Kind::Size: {
        const std::string n = sym(s.size);
        if (is_integral(s.dtype)) return fmt::format("({}){}", c_type(s.dtype), n);
        return fmt::format("({})({} {} (double){})", c_type(s.dtype), literal(DType::F64, s.scale),
                           s.reciprocal ? "/" : "*", n);
      }
      case Scalar::Kind::Acc: return fmt::format("a{}", s.acc);
      case Scalar::Kind::Product: KILN_UNREACHABLE("a GEMM product in the CUDA lowering");
      case Scalar::Kind::Op: return op(s);
    }
    KILN_UNREACHABLE("scalar kind");
  }

  std::string op(const Scalar &s) const {
    const DType in = k_.scalars[s.op == OpKind::Where ? s.operands[1] : s.operands[0]].dtype;
    const bool f = is_floating(in), boolean = in == DType::Bool;
    const std::string T = c_type(in);
    auto x = [&](size_t i) { return v(s.operands[i]); };
    auto c = [&](double value) { return literal(in, value); };
    switch (s.op) {
      case OpKind::Neg: return boolean ? x(0) : fmt::format("({} - {})", c(0), x(0));
      case OpKind::Abs:
        return boolean ? x(0) : fmt::format("({0} < {1} ? {1} - {0} : {0})", x(0), c(0));
      case OpKind::Relu: return boolean ? x(0) : fmt::format("({0} < {1} ? {1} : {0})", x(0), c(0));
      case OpKind::Exp: return fmt::format("kiln_exp({})", x(0));
      case OpKind::Log: return fmt::format("kiln_log({})", x(0));
      case OpKind::Log1p: return fmt::format("kiln_log1p({})", x(0));
      case OpKind::Expm1: return fmt::format("kiln_expm1({})", x(0));
      case OpKind::Sin: return fmt::format("kiln_sin({})", x(0));
      case OpKind::Cos: return fmt::format("kiln_cos({})", x(0));
      case OpKind::Tanh: return fmt::format("kiln_tanh({})", x(0));
      case OpKind::Sigmoid: return fmt::format("kiln_sigmoid({})", x(0));
      case OpKind::Erf: return fmt::format("kiln_erf({})", x(0));
      case OpKind::Sqrt: return fmt::format("kiln_sqrt({})", x(0));
      case OpKind::Rsqrt: return fmt::format("({} / kiln_sqrt({}))", c(1), x(0));
      case OpKind::Reciprocal: return fmt::format("({} / {})", c(1), x(0));
      case OpKind::Gelu: {
        const std::string inner =
            s.attrs.get_bool("approximate")
                ? fmt::format("kiln_tanh({} * kiln_fma(({} * {}) * {}, {}, {}))",
                              c(0.7978845608028654), c(0.044715), x(0), x(0), x(0), x(0))
                : fmt::format("kiln_erf({} * {})", x(0), c(0.7071067811865476));
        return fmt::format("(({} * {}) * ({} + {}))", c(0.5), x(0), c(1), inner);
      }
      case OpKind::Silu: return fmt::format("({0} * kiln_sigmoid({0}))", x(0));
      case OpKind::Floor: return f ? fmt::format("kiln_floor({})", x(0)) : x(0);
      case OpKind::Ceil: return f ? fmt::format("kiln_ceil({})", x(0)) : x(0);
      case OpKind::Round: return f ? fmt::format("kiln_rint({})", x(0)) : x(0);
      case OpKind::Sign: {
        if (boolean) return x(0);
        const std::string r =
            fmt::format("({0} > {1} ? {2} : {0} < {1} ? {3} : {1})", x(0), c(0), c(1), c(-1));
        return f ? fmt::format("(kiln_isnan({0}) ? {0} : {1})", x(0), r) : r;
      }
      case OpKind::LogicalNot: return fmt::format("({} == {})", x(0), c(0));
      case OpKind::Convert: return convert(x(0), in, s.dtype);
      case OpKind::Clamp: return clamp(x(0), s.attrs, in);
      case OpKind::Add: return fmt::format("({} {} {})", x(0), boolean ? "||" : "+", x(1));
      case OpKind::Sub: return fmt::format("({} {} {})", x(0), boolean ? "!=" : "-", x(1));
      case OpKind::Mul: return fmt::format("({} {} {})", x(0), boolean ? "&&" : "*", x(1));
      case OpKind::Div:
        KILN_CHECK(f, "div on {} reaches a kernel", dtype_name(in));
        return fmt::format("({} / {})", x(0), x(1));
      case OpKind::Pow:
      case OpKind::Fmod:
        KILN_CHECK(f, "{} on {} reaches a kernel", op_name(s.op), dtype_name(in));
        return fmt::format("kiln_{}({}, {})", op_name(s.op), x(0), x(1));
      case OpKind::Maximum: return fmt::format("kiln_max<{}>({}, {})", T, x(0), x(1));
      case OpKind::Minimum: return fmt::format("kiln_min<{}>({}, {})", T, x(0), x(1));
      case OpKind::Eq: return fmt::format("({} == {})", x(0), x(1));
      case OpKind::Ne: return fmt::format("({} != {})", x(0), x(1));
      case OpKind::Lt: return fmt::format("({} < {})", x(0), x(1));
      case OpKind::Le: return fmt::format("({} <= {})", x(0), x(1));
      case OpKind::Gt: return fmt::format("({} > {})", x(0), x(1));
      case OpKind::Ge: return fmt::format("({} >= {})", x(0), x(1));
      case OpKind::LogicalAnd: return fmt::format("({} != {} && {} != {})", x(0), c(0), x(1), c(0));
      case OpKind::LogicalOr: return fmt::format("({} != {} || {} != {})", x(0), c(0), x(1), c(0));
      case OpKind::Where: return fmt::format("({} ? {} : {})", x(0), x(1), x(2));
      default: break;
    }
    KILN_UNREACHABLE("{} is not an elementwise op a kernel computes", op_name(s.op));
  }

  static std::string convert(const std::string &x, DType from, DType to) {
    if (from == to) return x;
    if (to == DType::Bool) return fmt::format("({} != {})", x, literal(from, 0));
    if (is_floating(from) && !is_floating(to)) {
      const int64_t lo = to == DType::I32 ? std::numeric_limits<int32_t>::min()
                                          : std::numeric_limits<int64_t>::min();
      const int64_t hi = to == DType::I32 ? std::numeric_limits<int32_t>::max()
                                          : std::numeric_limits<int64_t>::max();
      return fmt::format("kiln_f2i<{}, {}>({}, ({}){}, ({}){})", c_type(to), c_type(from), x,
                         c_type(to), int_literal(lo), c_type(to), int_literal(hi));
    }
    return fmt::format("(({}){})", c_type(to), x);
  }

  // Bounds as eager reads them (lowering/cpu_llvm/emit_op.cpp's clamp).
  static std::string clamp(const std::string &x, const Attrs &attrs, DType dtype) {
    const bool f = is_floating(dtype);
    auto float_bound = [&](std::string_view key) { return clamp_float_bound(attrs, key, dtype); };
    auto int_bound = [&](std::string_view key) { return clamp_int_bound(attrs, key, dtype); };
    if (f && ((attrs.has("min") && std::isnan(float_bound("min"))) ||
              (attrs.has("max") && std::isnan(float_bound("max")))))
      return literal(dtype, NAN);
    auto bound = [&](std::string_view key) {
      return f ? literal(dtype, float_bound(key))
               : fmt::format("({}){}", c_type(dtype), int_literal(int_bound(key)));
    };
    std::string r = x;
    if (attrs.has("min")) r = fmt::format("({0} < {1} ? {1} : {0})", r, bound("min"));
    if (attrs.has("max")) r = fmt::format("({1} < {0} ? {1} : {0})", r, bound("max"));
    return f ? fmt::format("(kiln_isnan({0}) ? {0} : {1})", x, r) : r;
  }

  static std::string identity(OpKind combine, DType dtype) {
    const bool f = is_floating(dtype);
    switch (combine) {
      case OpKind::Sum:
      case OpKind::Any: return literal(dtype, 0);
      case OpKind::Prod:
      case OpKind::All: return literal(dtype, 1);
      case OpKind::Max:
        if (dtype == DType::Bool) return "false";
        if (f) return literal(dtype, -INFINITY);
        return dtype == DType::I32 ? "(int)(-2147483647 - 1)"
                                   : int_literal(std::numeric_limits<int64_t>::min());
      case OpKind::Min:
        if (dtype == DType::Bool) return "true";
        if (f) return literal(dtype, INFINITY);
        return dtype == DType::I32 ? "(int)2147483647"
                                   : int_literal(std::numeric_limits<int64_t>::max());
      default: KILN_UNREACHABLE("{} is not an accumulator", op_name(combine));
    }
  }

  static std::string combine(OpKind op, DType dtype, const std::string &acc, const std::string &x) {
    switch (op) {
      case OpKind::Sum: return fmt::format("({} {} {})", acc, dtype == DType::Bool ? "||" : "+", x);
      case OpKind::Prod:
        return fmt::format("({} {} {})", acc, dtype == DType::Bool ? "&&" : "*", x);
      case OpKind::Max: return fmt::format("kiln_max<{}>({}, {})", c_type(dtype), acc, x);
      case OpKind::Min: return fmt::format("kiln_min<{}>({}, {})", c_type(dtype), acc, x);
      case OpKind::All: return fmt::format("({} && {})", acc, x);
      case OpKind::Any: return fmt::format("({} || {})", acc, x);
      default: KILN_UNREACHABLE("{} is not an accumulator", op_name(op));
    }
  }

  void block(const std::vector<Stmt> &stmts, int depth) {
    const std::string pad(static_cast<size_t>(2 * depth), ' ');
    for (const Stmt &st : stmts) {
      switch (st.kind) {
        case Stmt::Kind::Let: {
          const Scalar &s = k_.scalars[st.id];
          out_ += fmt::format("{}const {} {} = {};\n", pad, c_type(s.dtype), v(st.id), scalar(s));
          break;
        }
        case Stmt::Kind::Store: {
          const DType d = k_.args[st.arg].dtype;
          out_ += fmt::format("{}{}[{}] = ({}){};\n", pad, buffer(st.arg, false), index(st.index),
                              memory_type(d), v(st.id));
          break;
        }
        case Stmt::Kind::AccInit:
          out_ += fmt::format("{}a{} = {};\n", pad, st.id,
                              identity(k_.accs[st.id].combine, k_.accs[st.id].dtype));
          break;
        case Stmt::Kind::AccUpdate: {
          const Accumulator &acc = k_.accs[st.id];
          out_ += fmt::format("{}a{} = {};\n", pad, st.id,
                              combine(acc.combine, acc.dtype, fmt::format("a{}", st.id),
                                      fmt::format("({}){}", c_type(acc.dtype), v(st.value))));
          break;
        }
        case Stmt::Kind::For: {
          const Loop &loop = k_.loops[st.id];
          if (loop.parallel)
            out_ += fmt::format(
                "{}for (long long i{} = begin + (long long)blockIdx.x * blockDim.x + threadIdx.x; "
                "i{} < end; i{} += (long long)gridDim.x * blockDim.x) {{\n",
                pad, st.id, st.id, st.id);
          else
            out_ += fmt::format("{}for (long long i{} = 0; i{} < {}; ++i{}) {{\n", pad, st.id,
                                st.id, sym(loop.extent), st.id);
          block(st.body, depth + 1);
          out_ += pad + "}\n";
          break;
        }
      }
    }
  }
};

}  // namespace

std::string why_not_emitted(const Kernel &k) {
  if (k.gemm) return fmt::format("kernel @{} is a GEMM (cuBLAS, not yet driven)", k.name);
  return {};
}

std::string emit_cuda(std::span<const Kernel> kernels, std::span<const std::string> symbols) {
  KILN_CHECK(kernels.size() == symbols.size(), "{} kernels, {} symbols", kernels.size(),
             symbols.size());
  std::string out(kPrelude);
  for (size_t i = 0; i < kernels.size(); ++i) {
    const std::string why = why_not_emitted(kernels[i]);
    KILN_CHECK(why.empty(), "{}", why);
    Emitter(kernels[i], out).emit(symbols[i]);
  }
  return out;
}

}  // namespace kiln::lower::cuda
