// The CPU emitter's op table: one case per op of ir/ops.def, no default, so a new row does
// not compile until it is answered here. Each case mirrors runtime/reference/elementwise.cpp.
#include "lowering/cpu_llvm/emit_op.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/diag.h"
#include "lowering/cpu_llvm/math_emit.h"

namespace kiln::lower::cpu {
namespace {

using llvm::Value;

Value *nan_check(llvm::IRBuilder<> &b, Value *x) { return b.CreateFCmpUNO(x, x); }

Value *zero(llvm::IRBuilder<> &b, Value *like, DType dtype) {
  return emit_constant(b, like->getType(), dtype, 0.0);
}

Value *is_negative(llvm::IRBuilder<> &b, Value *x, DType dtype) {
  return is_floating(dtype) ? b.CreateFCmpOLT(x, zero(b, x, dtype))
                            : b.CreateICmpSLT(x, zero(b, x, dtype));
}

// NaN-propagating maximum/minimum: a NaN operand wins, else the larger/smaller (eager's
// nan_max/nan_min, including which zero wins on ties).
Value *extreme(llvm::IRBuilder<> &b, Value *x, Value *y, DType dtype, bool want_max) {
  if (dtype == DType::Bool) return want_max ? b.CreateOr(x, y) : b.CreateAnd(x, y);
  if (!is_floating(dtype)) {
    Value *pick = want_max ? b.CreateICmpSGT(x, y) : b.CreateICmpSLT(x, y);
    return b.CreateSelect(pick, x, y);
  }
  Value *pick = want_max ? b.CreateFCmpOGT(x, y) : b.CreateFCmpOLT(x, y);
  Value *r = b.CreateSelect(pick, x, y);
  r = b.CreateSelect(nan_check(b, y), y, r);
  return b.CreateSelect(nan_check(b, x), x, r);
}

Value *compare(llvm::IRBuilder<> &b, OpKind op, Value *x, Value *y, DType dtype) {
  using P = llvm::CmpInst::Predicate;
  const bool f = is_floating(dtype), u = dtype == DType::Bool;
  P p{};
  switch (op) {
    case OpKind::Eq: p = f ? P::FCMP_OEQ : P::ICMP_EQ; break;
    case OpKind::Ne: p = f ? P::FCMP_UNE : P::ICMP_NE; break;
    case OpKind::Lt: p = f ? P::FCMP_OLT : u ? P::ICMP_ULT : P::ICMP_SLT; break;
    case OpKind::Le: p = f ? P::FCMP_OLE : u ? P::ICMP_ULE : P::ICMP_SLE; break;
    case OpKind::Gt: p = f ? P::FCMP_OGT : u ? P::ICMP_UGT : P::ICMP_SGT; break;
    default: p = f ? P::FCMP_OGE : u ? P::ICMP_UGE : P::ICMP_SGE; break;
  }
  return f ? b.CreateFCmp(p, x, y) : b.CreateICmp(p, x, y);
}

Value *truth(llvm::IRBuilder<> &b, Value *x, DType dtype) {
  return emit_convert(b, x, dtype, DType::Bool);
}

Value *int_constant(llvm::IRBuilder<> &b, llvm::Type *like, int64_t value) {
  Value *c = llvm::ConstantInt::getSigned(like->getScalarType(), value);
  if (auto *vec = llvm::dyn_cast<llvm::FixedVectorType>(like))
    return b.CreateVectorSplat(vec->getNumElements(), c);
  return c;
}

Value *clamp(llvm::IRBuilder<> &b, Value *x, const Attrs &attrs, DType dtype) {
  const bool f = is_floating(dtype);
  if (f && ((attrs.has("min") && std::isnan(clamp_float_bound(attrs, "min", dtype))) ||
            (attrs.has("max") && std::isnan(clamp_float_bound(attrs, "max", dtype)))))
    return emit_constant(b, x->getType(), dtype, NAN);  // a NaN bound makes every element NaN
  auto bound = [&](std::string_view key) {
    return f ? emit_constant(b, x->getType(), dtype, clamp_float_bound(attrs, key, dtype))
             : int_constant(b, x->getType(), clamp_int_bound(attrs, key, dtype));
  };
  auto less = [&](Value *p, Value *q) { return f ? b.CreateFCmpOLT(p, q) : b.CreateICmpSLT(p, q); };
  Value *r = x;
  if (attrs.has("min")) {
    Value *lo = bound("min");
    r = b.CreateSelect(less(r, lo), lo, r);
  }
  if (attrs.has("max")) {
    Value *hi = bound("max");
    r = b.CreateSelect(less(hi, r), hi, r);
  }
  return f ? b.CreateSelect(nan_check(b, x), x, r) : r;
}

Value *gelu(llvm::IRBuilder<> &b, Value *x, DType dtype, bool approximate) {
  auto c = [&](double v) { return emit_constant(b, x->getType(), dtype, v); };
  Value *inner;
  if (approximate) {
    // x + 0.044715*x*x*x as eager's compiled form computes it: fma((c*x)*x, x, x).
    Value *cx2 = b.CreateFMul(b.CreateFMul(c(0.044715), x), x);
    Value *sum = b.CreateIntrinsic(llvm::Intrinsic::fma, {x->getType()}, {cx2, x, x});
    inner = emit_unary_math(b, OpKind::Tanh, b.CreateFMul(c(0.7978845608028654), sum));
  } else {
    inner = emit_unary_math(b, OpKind::Erf, b.CreateFMul(x, c(0.7071067811865476)));
  }
  return b.CreateFMul(b.CreateFMul(c(0.5), x), b.CreateFAdd(c(1.0), inner));
}

}  // namespace

llvm::Type *register_type(llvm::LLVMContext &ctx, DType dtype, unsigned width) {
  llvm::Type *t = nullptr;
  switch (dtype) {
    case DType::Bool: t = llvm::Type::getInt1Ty(ctx); break;
    case DType::I32: t = llvm::Type::getInt32Ty(ctx); break;
    case DType::I64: t = llvm::Type::getInt64Ty(ctx); break;
    case DType::F32: t = llvm::Type::getFloatTy(ctx); break;
    case DType::F64: t = llvm::Type::getDoubleTy(ctx); break;
  }
  return width == 1 ? t : llvm::FixedVectorType::get(t, width);
}

llvm::Type *memory_type(llvm::LLVMContext &ctx, DType dtype) {
  return dtype == DType::Bool ? llvm::Type::getInt8Ty(ctx) : register_type(ctx, dtype);
}

Value *emit_constant(llvm::IRBuilder<> &b, llvm::Type *like, DType dtype, double value) {
  llvm::Type *scalar = register_type(b.getContext(), dtype);
  Value *c = is_floating(dtype) ? llvm::ConstantFP::get(scalar, value)
             : dtype == DType::Bool
                 ? llvm::ConstantInt::get(scalar, value != 0)
                 : llvm::ConstantInt::getSigned(scalar, static_cast<int64_t>(value));
  if (auto *vec = llvm::dyn_cast<llvm::FixedVectorType>(like))
    return b.CreateVectorSplat(vec->getNumElements(), c);
  return c;
}

Value *emit_convert(llvm::IRBuilder<> &b, Value *x, DType from, DType to) {
  if (from == to) return x;
  unsigned width = 1;
  if (auto *vec = llvm::dyn_cast<llvm::FixedVectorType>(x->getType()))
    width = vec->getNumElements();
  llvm::Type *target = register_type(b.getContext(), to, width);
  if (to == DType::Bool)
    return is_floating(from) ? b.CreateFCmpUNE(x, zero(b, x, from))
                             : b.CreateICmpNE(x, zero(b, x, from));
  if (from == DType::Bool)
    return is_floating(to) ? b.CreateUIToFP(x, target) : b.CreateZExt(x, target);
  if (is_floating(from) && is_floating(to)) return b.CreateFPCast(x, target);
  if (!is_floating(from) && !is_floating(to)) return b.CreateSExtOrTrunc(x, target);
  if (!is_floating(from)) return b.CreateSIToFP(x, target);
  // NaN → 0, out of range saturates: eager's convert_value, and llvm.fptosi.sat exactly.
  return b.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {target, x->getType()}, {x});
}

Value *emit_op(llvm::IRBuilder<> &b, OpKind op, const Attrs &attrs, std::span<Value *const> v,
               DType in, DType out) {
  const bool f = is_floating(in), boolean = in == DType::Bool;
  auto c = [&](double value) { return emit_constant(b, v[0]->getType(), in, value); };
  switch (op) {
    case OpKind::Neg:
      if (boolean) return v[0];
      return f ? b.CreateFSub(c(0), v[0]) : b.CreateSub(c(0), v[0]);
    case OpKind::Abs: {
      if (boolean) return v[0];
      Value *negated = f ? b.CreateFSub(c(0), v[0]) : b.CreateSub(c(0), v[0]);
      return b.CreateSelect(is_negative(b, v[0], in), negated, v[0]);
    }
    case OpKind::Relu:
      if (boolean) return v[0];
      return b.CreateSelect(is_negative(b, v[0], in), c(0), v[0]);
    case OpKind::Exp:
    case OpKind::Log:
    case OpKind::Log1p:
    case OpKind::Expm1:
    case OpKind::Sin:
    case OpKind::Cos:
    case OpKind::Tanh:
    case OpKind::Sigmoid:
    case OpKind::Erf: return emit_unary_math(b, op, v[0]);
    case OpKind::Sqrt: return b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, v[0]);
    case OpKind::Rsqrt:
      return b.CreateFDiv(c(1), b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, v[0]));
    case OpKind::Reciprocal: return b.CreateFDiv(c(1), v[0]);
    case OpKind::Gelu: return gelu(b, v[0], in, attrs.get_bool("approximate"));
    case OpKind::Silu: return b.CreateFMul(v[0], emit_unary_math(b, OpKind::Sigmoid, v[0]));
    case OpKind::Floor: return f ? b.CreateUnaryIntrinsic(llvm::Intrinsic::floor, v[0]) : v[0];
    case OpKind::Ceil: return f ? b.CreateUnaryIntrinsic(llvm::Intrinsic::ceil, v[0]) : v[0];
    case OpKind::Round:  // nearbyint in the default rounding mode: ties to even
      return f ? b.CreateUnaryIntrinsic(llvm::Intrinsic::roundeven, v[0]) : v[0];
    case OpKind::Sign: {
      if (boolean) return v[0];
      Value *positive = f ? b.CreateFCmpOGT(v[0], c(0)) : b.CreateICmpSGT(v[0], c(0));
      Value *r =
          b.CreateSelect(positive, c(1), b.CreateSelect(is_negative(b, v[0], in), c(-1), c(0)));
      return f ? b.CreateSelect(nan_check(b, v[0]), v[0], r) : r;
    }
    case OpKind::LogicalNot: return f ? b.CreateFCmpOEQ(v[0], c(0)) : b.CreateICmpEQ(v[0], c(0));
    case OpKind::Convert: return emit_convert(b, v[0], in, out);
    case OpKind::Clamp: return clamp(b, v[0], attrs, in);
    case OpKind::Add:
      return boolean ? b.CreateOr(v[0], v[1])
             : f     ? b.CreateFAdd(v[0], v[1])
                     : b.CreateAdd(v[0], v[1]);
    case OpKind::Sub:
      return boolean ? b.CreateXor(v[0], v[1])
             : f     ? b.CreateFSub(v[0], v[1])
                     : b.CreateSub(v[0], v[1]);
    case OpKind::Mul:
      return boolean ? b.CreateAnd(v[0], v[1])
             : f     ? b.CreateFMul(v[0], v[1])
                     : b.CreateMul(v[0], v[1]);
    case OpKind::Div:
      KILN_CHECK(f, "div on {} reaches a kernel", dtype_name(in));
      return b.CreateFDiv(v[0], v[1]);
    case OpKind::Pow:
    case OpKind::Fmod:
      KILN_CHECK(f, "{} on {} reaches a kernel", op_name(op), dtype_name(in));
      return emit_binary_math(b, op, v[0], v[1]);
    case OpKind::Maximum: return extreme(b, v[0], v[1], in, true);
    case OpKind::Minimum: return extreme(b, v[0], v[1], in, false);
    case OpKind::Eq:
    case OpKind::Ne:
    case OpKind::Lt:
    case OpKind::Le:
    case OpKind::Gt:
    case OpKind::Ge: return compare(b, op, v[0], v[1], in);
    case OpKind::LogicalAnd: return b.CreateAnd(truth(b, v[0], in), truth(b, v[1], in));
    case OpKind::LogicalOr: return b.CreateOr(truth(b, v[0], in), truth(b, v[1], in));
    case OpKind::Where: return b.CreateSelect(v[0], v[1], v[2]);
    case OpKind::Full:
    case OpKind::Arange:
    case OpKind::Linspace:
    case OpKind::Eye:
    case OpKind::Rand:
    case OpKind::Randn:
    case OpKind::Randint:
    case OpKind::Sum:
    case OpKind::Mean:
    case OpKind::Max:
    case OpKind::Min:
    case OpKind::Prod:
    case OpKind::Argmax:
    case OpKind::Argmin:
    case OpKind::Var:
    case OpKind::Std:
    case OpKind::All:
    case OpKind::Any:
    case OpKind::Logsumexp:
    case OpKind::Matmul:
    case OpKind::Reshape:
    case OpKind::Permute:
    case OpKind::Broadcast:
    case OpKind::Slice:
    case OpKind::Cat:
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
    case OpKind::LayerNorm:
    case OpKind::RmsNorm:
    case OpKind::Dropout:
    case OpKind::MseLoss:
    case OpKind::CrossEntropy:
    case OpKind::Embedding:
    case OpKind::OneHot: break;
  }
  KILN_UNREACHABLE("{} is not an elementwise op a kernel computes", op_name(op));
}

Value *emit_combine(llvm::IRBuilder<> &b, OpKind combine, DType dtype, Value *acc, Value *x) {
  const bool f = is_floating(dtype);
  switch (combine) {
    case OpKind::Sum: return f ? b.CreateFAdd(acc, x) : b.CreateAdd(acc, x);
    case OpKind::Prod: return f ? b.CreateFMul(acc, x) : b.CreateMul(acc, x);
    case OpKind::Max: return extreme(b, acc, x, dtype, true);
    case OpKind::Min: return extreme(b, acc, x, dtype, false);
    case OpKind::All: return b.CreateAnd(acc, x);
    case OpKind::Any: return b.CreateOr(acc, x);
    default: KILN_UNREACHABLE("{} is not an accumulator", op_name(combine));
  }
}

Value *emit_identity(llvm::IRBuilder<> &b, llvm::Type *like, OpKind combine, DType dtype) {
  const double inf = std::numeric_limits<double>::infinity();
  const bool f = is_floating(dtype);
  const double lowest = dtype == DType::I32
                            ? std::numeric_limits<int32_t>::min()
                            : static_cast<double>(std::numeric_limits<int64_t>::min());
  const double highest = dtype == DType::I32
                             ? std::numeric_limits<int32_t>::max()
                             : static_cast<double>(std::numeric_limits<int64_t>::max());
  switch (combine) {
    case OpKind::Sum:
    case OpKind::Any: return emit_constant(b, like, dtype, 0);
    case OpKind::Prod:
    case OpKind::All: return emit_constant(b, like, dtype, 1);
    case OpKind::Max:
      if (dtype == DType::Bool) return emit_constant(b, like, dtype, 0);
      if (!f && dtype == DType::I64)
        return int_constant(b, like, std::numeric_limits<int64_t>::min());
      return emit_constant(b, like, dtype, f ? -inf : lowest);
    case OpKind::Min:
      if (dtype == DType::Bool) return emit_constant(b, like, dtype, 1);
      if (!f && dtype == DType::I64)
        return int_constant(b, like, std::numeric_limits<int64_t>::max());
      return emit_constant(b, like, dtype, f ? inf : highest);
    default: KILN_UNREACHABLE("{} is not an accumulator", op_name(combine));
  }
}

}  // namespace kiln::lower::cpu
