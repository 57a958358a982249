// Type rules, one switch case per op (no default: a new op must answer here).
#include "ir/infer.h"

#include <algorithm>
#include <limits>

#include "ir/diag.h"

namespace kiln {

std::string TensorType::str() const {
  return fmt::format("{}{}", dtype_name(dtype), format_shape(shape));
}

namespace {

using Operands = std::span<const TensorType>;

void check_arity(OpKind op, Operands in) {
  const OpInfo &info = op_info(op);
  int n = static_cast<int>(in.size());
  if (n >= info.min_arity && n <= info.max_arity) return;
  if (info.min_arity == info.max_arity)
    fail("{}: expected {} operand(s), got {}", info.name, info.min_arity, n);
  if (info.max_arity == std::numeric_limits<int>::max())
    fail("{}: expected at least {} operand(s), got {}", info.name, info.min_arity, n);
  fail("{}: expected {} to {} operands, got {}", info.name, info.min_arity, info.max_arity, n);
}

void require_floating(OpKind op, const TensorType &t, std::string_view what = "input") {
  if (!is_floating(t.dtype))
    fail("{}: {} must be a floating-point tensor (f32 or f64), got {}", op_name(op), what,
         dtype_name(t.dtype));
}

void require_not_bool(OpKind op, const TensorType &t) {
  if (t.dtype == DType::Bool) fail("{}: input must be a numeric tensor, got bool", op_name(op));
}

void require_integral(OpKind op, const TensorType &t, std::string_view what) {
  if (!is_integral(t.dtype))
    fail("{}: {} must be an integer tensor (i32 or i64), got {}", op_name(op), what,
         dtype_name(t.dtype));
}

void require_same_types(OpKind op, Operands in) {
  for (size_t i = 1; i < in.size(); ++i)
    if (in[i] != in[0])
      fail("{}: operand types differ: {} and {}", op_name(op), in[0].str(), in[i].str());
}

Shape checked_shape(OpKind op, const Attrs &attrs) {
  Shape shape = attrs.get_ints("shape");
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0)
      fail("{}: size at dim {} must be non-negative, got {}", op_name(op), i, shape[i]);
  return shape;
}

TensorType source_type(OpKind op, const Attrs &attrs) {
  TensorType t{attrs.get_dtype("dtype", DType::F32), checked_shape(op, attrs)};
  bool random_float = op == OpKind::Rand || op == OpKind::Randn;
  if (random_float && !is_floating(t.dtype))
    fail("{}: dtype must be f32 or f64, got {}", op_name(op), dtype_name(t.dtype));
  if (op == OpKind::Randint) {
    if (!is_integral(t.dtype) && !is_floating(t.dtype))
      fail("randint: dtype must be numeric, got {}", dtype_name(t.dtype));
    int64_t low = attrs.get_int("low"), high = attrs.get_int("high");
    if (low >= high) fail("randint: low must be less than high, got low={} high={}", low, high);
  }
  if (op == OpKind::Eye && t.shape.size() != 2)
    fail("eye: shape must have 2 dims, got {}", format_shape(t.shape));
  return t;
}

TensorType unary_type(OpKind op, const TensorType &x, const Attrs &attrs) {
  switch (op) {
    case OpKind::Exp:
    case OpKind::Log:
    case OpKind::Log1p:
    case OpKind::Expm1:
    case OpKind::Sqrt:
    case OpKind::Rsqrt:
    case OpKind::Sin:
    case OpKind::Cos:
    case OpKind::Tanh:
    case OpKind::Sigmoid:
    case OpKind::Gelu:
    case OpKind::Silu:
    case OpKind::Erf:
    case OpKind::Reciprocal: require_floating(op, x); return x;
    case OpKind::LogicalNot: return {DType::Bool, x.shape};
    case OpKind::Convert: return {attrs.get_dtype("dtype"), x.shape};
    case OpKind::Clamp:
      require_not_bool(op, x);
      if (!attrs.has("min") && !attrs.has("max"))
        fail("clamp: at least one of 'min' and 'max' must be given");
      return x;
    default: require_not_bool(op, x); return x;
  }
}

TensorType binary_type(OpKind op, Operands in) {
  require_same_types(op, in);
  const TensorType &x = in[0];
  switch (op) {
    case OpKind::Sub:
      if (x.dtype == DType::Bool)
        fail(
            "sub: subtracting bool tensors is not supported\n  hint: use logical_xor "
            "semantics via ne(a, b), or convert to an integer dtype first");
      return x;
    case OpKind::Div: require_floating(op, x, "operand"); return x;
    case OpKind::Pow:
    case OpKind::Fmod: require_not_bool(op, x); return x;
    case OpKind::Eq:
    case OpKind::Ne:
    case OpKind::Lt:
    case OpKind::Le:
    case OpKind::Gt:
    case OpKind::Ge:
    case OpKind::LogicalAnd:
    case OpKind::LogicalOr: return {DType::Bool, x.shape};
    default: return x;
  }
}

TensorType where_type(Operands in) {
  if (in[0].dtype != DType::Bool)
    fail("where: condition must be a bool tensor, got {}", dtype_name(in[0].dtype));
  if (in[1] != in[2]) fail("where: operand types differ: {} and {}", in[1].str(), in[2].str());
  if (in[0].shape != in[1].shape)
    fail("where: condition shape {} differs from value shape {}", format_shape(in[0].shape),
         format_shape(in[1].shape));
  return in[1];
}

TensorType reduce_type(OpKind op, const TensorType &x, const Attrs &attrs) {
  std::vector<int64_t> dims = reduced_dims(op, x, attrs);
  bool keepdim = attrs.get_bool("keepdim");
  Shape shape;
  for (int64_t d = 0; d < static_cast<int64_t>(x.shape.size()); ++d) {
    bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!reduced)
      shape.push_back(x.shape[d]);
    else if (keepdim)
      shape.push_back(1);
  }
  bool needs_elements =
      op == OpKind::Max || op == OpKind::Min || op == OpKind::Argmax || op == OpKind::Argmin;
  for (int64_t d : dims)
    if (needs_elements && x.shape[d] == 0)
      fail("{}: cannot reduce over dim {} of size 0: the reduction has no identity", op_name(op),
           d);
  if (needs_elements && x.shape.empty() == false && numel(x.shape) == 0 && dims.empty())
    fail("{}: cannot reduce an empty tensor: the reduction has no identity", op_name(op));
  switch (op) {
    case OpKind::Sum:
    case OpKind::Prod: return {is_floating(x.dtype) ? x.dtype : DType::I64, shape};
    case OpKind::Mean:
    case OpKind::Var:
    case OpKind::Std:
    case OpKind::Logsumexp: require_floating(op, x); return {x.dtype, shape};
    case OpKind::Max:
    case OpKind::Min: return {x.dtype, shape};
    case OpKind::Argmax:
    case OpKind::Argmin: require_not_bool(op, x); return {DType::I64, shape};
    case OpKind::All:
    case OpKind::Any: return {DType::Bool, shape};
    default: KILN_UNREACHABLE("{} is not a reduction", op_name(op));
  }
}

TensorType matmul_type(Operands in) {
  const TensorType &a = in[0], &b = in[1];
  if (a.shape.size() < 2 || b.shape.size() < 2 || a.shape.size() != b.shape.size())
    fail("matmul: operands must have equal rank >= 2 after broadcasting, got {} and {}",
         format_shape(a.shape), format_shape(b.shape));
  if (a.dtype != b.dtype)
    fail("matmul: operand dtypes differ: {} and {}", dtype_name(a.dtype), dtype_name(b.dtype));
  if (a.dtype == DType::Bool) fail("matmul: bool tensors cannot be multiplied");
  size_t r = a.shape.size();
  if (a.shape[r - 1] != b.shape[r - 2])
    fail("matmul: shapes {} and {} cannot be multiplied ({} != {})", format_shape(a.shape),
         format_shape(b.shape), a.shape[r - 1], b.shape[r - 2]);
  if (!std::equal(a.shape.begin(), a.shape.end() - 2, b.shape.begin()))
    fail("matmul: batch dims differ: {} and {}", format_shape(a.shape), format_shape(b.shape));
  Shape out = a.shape;
  out[r - 1] = b.shape[r - 1];
  return {a.dtype, out};
}

TensorType movement_type(OpKind op, Operands in, const Attrs &attrs) {
  const TensorType &x = in[0];
  int64_t rank = static_cast<int64_t>(x.shape.size());
  switch (op) {
    case OpKind::Reshape: {
      Shape shape = checked_shape(op, attrs);
      if (numel(shape) != numel(x.shape))
        fail("reshape: cannot reshape {} ({} elements) into {} ({} elements)",
             format_shape(x.shape), numel(x.shape), format_shape(shape), numel(shape));
      return {x.dtype, shape};
    }
    case OpKind::Permute: {
      std::vector<int64_t> perm = attrs.get_ints("perm");
      std::vector<int64_t> sorted = normalize_dims(op_name(op), perm, rank);
      if (static_cast<int64_t>(perm.size()) != rank || static_cast<int64_t>(sorted.size()) != rank)
        fail("permute: perm {} is not a permutation of the {} dims of {}", format_shape(perm), rank,
             format_shape(x.shape));
      Shape shape;
      for (int64_t p : perm) shape.push_back(x.shape[normalize_dim("permute", p, rank)]);
      return {x.dtype, shape};
    }
    case OpKind::Broadcast: {
      Shape shape = checked_shape(op, attrs);
      if (x.shape.size() > shape.size())
        fail("broadcast: cannot broadcast {} to {} with fewer dims", format_shape(x.shape),
             format_shape(shape));
      size_t lead = shape.size() - x.shape.size();
      for (size_t i = 0; i < x.shape.size(); ++i)
        if (x.shape[i] != 1 && x.shape[i] != shape[lead + i])
          fail("broadcast: cannot broadcast {} to {}: dim {} has size {}, expected 1 or {}",
               format_shape(x.shape), format_shape(shape), i, x.shape[i], shape[lead + i]);
      return {x.dtype, shape};
    }
    case OpKind::Slice: {
      int64_t dim = normalize_dim("slice", attrs.get_int("dim"), rank);
      if (rank == 0) fail("slice: cannot slice a 0-dim tensor");
      int64_t start = attrs.get_int("start"), stop = attrs.get_int("stop", x.shape[dim]);
      int64_t step = attrs.get_int("step", 1);
      if (step <= 0) fail("slice: step must be positive, got {}", step);
      if (start < 0 || stop > x.shape[dim] || start > stop)
        fail("slice: range [{}, {}) is outside dim {} of size {}", start, stop, dim, x.shape[dim]);
      Shape shape = x.shape;
      shape[dim] = stop > start ? 1 + (stop - start - 1) / step : 0;  // no overflow for huge steps
      return {x.dtype, shape};
    }
    case OpKind::Cat: {
      if (rank == 0) fail("cat: tensors must have at least one dim, got a 0-dim tensor");
      int64_t dim = normalize_dim("cat", attrs.get_int("dim"), rank);
      Shape shape = x.shape;
      shape[dim] = 0;
      for (size_t i = 0; i < in.size(); ++i) {
        const TensorType &t = in[i];
        if (t.dtype != x.dtype)
          fail("cat: tensor {} has dtype {}, expected {}", i, dtype_name(t.dtype),
               dtype_name(x.dtype));
        bool same = t.shape.size() == x.shape.size();
        for (int64_t d = 0; same && d < rank; ++d) same = d == dim || t.shape[d] == x.shape[d];
        if (!same)
          fail("cat: tensor {} has shape {}, expected {} except at dim {}", i,
               format_shape(t.shape), format_shape(x.shape), dim);
        if (__builtin_add_overflow(shape[dim], t.shape[dim], &shape[dim]))
          fail("cat: the result's size at dim {} overflows a 64-bit integer", dim);
      }
      return {x.dtype, shape};
    }
    default: KILN_UNREACHABLE("{} is not a movement op", op_name(op));
  }
}

TensorType norm_type(OpKind op, Operands in, const Attrs &attrs) {
  const TensorType &x = in[0];
  require_floating(op, x);
  int64_t axes = attrs.get_int("axes", 1);
  int64_t rank = static_cast<int64_t>(x.shape.size());
  if (axes < 1 || axes > rank)
    fail("{}: normalized shape has {} dims but the input {} has {}", op_name(op), axes,
         format_shape(x.shape), rank);
  Shape trailing(x.shape.end() - axes, x.shape.end());
  const char *names[] = {"input", "weight", "bias"};
  for (size_t i = 1; i < in.size(); ++i) {
    if (in[i].dtype != x.dtype || in[i].shape != trailing)
      fail("{}: {} must be {}, got {}", op_name(op), names[i], TensorType{x.dtype, trailing}.str(),
           in[i].str());
  }
  if (attrs.get_double("eps", 1e-5) < 0) fail("{}: eps must be non-negative", op_name(op));
  return x;
}

std::string reduction_mode(OpKind op, const Attrs &attrs) {
  std::string mode = attrs.get_string("reduction", "mean");
  if (mode != "mean" && mode != "sum" && mode != "none")
    fail("{}: reduction must be 'mean', 'sum' or 'none', got '{}'", op_name(op), mode);
  return mode;
}

TensorType composite_type(OpKind op, Operands in, const Attrs &attrs) {
  const TensorType &x = in[0];
  int64_t rank = static_cast<int64_t>(x.shape.size());
  switch (op) {
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
      require_floating(op, x);
      (void)normalize_dim(op_name(op), attrs.get_int("dim", -1), rank);
      return x;
    case OpKind::LayerNorm:
    case OpKind::RmsNorm: return norm_type(op, in, attrs);
    case OpKind::Dropout: {
      require_floating(op, x);
      double p = attrs.get_double("p", 0.5);
      if (!(p >= 0.0 && p <= 1.0)) fail("dropout: p must be in [0, 1], got {}", p);
      return x;
    }
    case OpKind::MseLoss: {
      require_same_types(op, in);
      require_floating(op, x);
      return reduction_mode(op, attrs) == "none" ? x : TensorType{x.dtype, {}};
    }
    case OpKind::CrossEntropy: {
      require_floating(op, x, "logits");
      require_integral(op, in[1], "target");
      bool batched = rank == 2;
      if (rank != 1 && rank != 2)
        fail("cross_entropy: logits must be [N, C] or [C], got {}", format_shape(x.shape));
      Shape want = batched ? Shape{x.shape[0]} : Shape{};
      if (in[1].shape != want)
        fail("cross_entropy: target must have shape {} for logits {}, got {}", format_shape(want),
             format_shape(x.shape), format_shape(in[1].shape));
      return reduction_mode(op, attrs) == "none" ? TensorType{x.dtype, want}
                                                 : TensorType{x.dtype, {}};
    }
    case OpKind::Embedding: {
      if (rank != 2)
        fail("embedding: weight must be 2-D [rows, dim], got {}", format_shape(x.shape));
      require_integral(op, in[1], "indices");
      Shape shape = in[1].shape;
      shape.push_back(x.shape[1]);
      return {x.dtype, shape};
    }
    case OpKind::OneHot: {
      require_integral(op, x, "input");
      int64_t classes = attrs.get_int("classes");
      if (classes <= 0) fail("one_hot: number of classes must be positive, got {}", classes);
      Shape shape = x.shape;
      shape.push_back(classes);
      return {DType::I64, shape};
    }
    default: KILN_UNREACHABLE("{} is not a composite op", op_name(op));
  }
}

}  // namespace

std::vector<int64_t> reduced_dims(OpKind op, const TensorType &input, const Attrs &attrs) {
  std::vector<int64_t> dims = attrs.get_ints("dims");
  int64_t rank = static_cast<int64_t>(input.shape.size());
  if ((op == OpKind::Argmax || op == OpKind::Argmin) && dims.size() > 1)
    fail("{}: expected at most one dim, got {}", op_name(op), format_shape(dims));
  return normalize_dims(op_name(op), dims, rank);
}

TensorType infer_type(OpKind op, std::span<const TensorType> in, const Attrs &attrs) {
  check_arity(op, in);
  switch (op_info(op).category) {
    case OpCategory::Source: return source_type(op, attrs);
    case OpCategory::Elementwise:
      if (in.size() == 1) return unary_type(op, in[0], attrs);
      if (in.size() == 2) return binary_type(op, in);
      return where_type(in);
    case OpCategory::Reduce: return reduce_type(op, in[0], attrs);
    case OpCategory::Contraction: return matmul_type(in);
    case OpCategory::Movement: return movement_type(op, in, attrs);
    case OpCategory::Composite: return composite_type(op, in, attrs);
  }
  KILN_UNREACHABLE("bad category for {}", op_name(op));
}

}  // namespace kiln
