// Transcendentals as IR. The f32 polynomials are runtime/reference/fast_math.h transcribed
// operation by operation (same constants, fma placement and selects), so JIT and eager
// results agree bit for bit; the libm-backed ops call the very C functions eager calls.
#include "lowering/cpu_llvm/math_emit.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/IntrinsicsX86.h>
#include <llvm/IR/Module.h>

#include <cmath>
#include <string>
#include <string_view>

#include "ir/diag.h"

namespace kiln::lower::cpu {
namespace {

using llvm::Value;

// Float arithmetic on one type, scalar or vector. Plain IEEE instructions only: the callers
// clear the builder's fast-math flags, since `contract` or `reassoc` would change roundings.
struct Fp {
  llvm::IRBuilder<> &b;
  llvm::Type *ty;

  // Takes float on purpose: an f32 constant must be the float the C++ source rounds to.
  Value *c(float v) const { return llvm::ConstantFP::get(ty, v); }
  llvm::Type *int_ty() const { return ty->getWithNewType(b.getInt32Ty()); }
  Value *ci(int32_t v) const { return llvm::ConstantInt::get(int_ty(), v, true); }
  Value *add(Value *x, Value *y) const { return b.CreateFAdd(x, y); }
  Value *sub(Value *x, Value *y) const { return b.CreateFSub(x, y); }
  Value *mul(Value *x, Value *y) const { return b.CreateFMul(x, y); }
  Value *div(Value *x, Value *y) const { return b.CreateFDiv(x, y); }
  Value *neg(Value *x) const { return b.CreateFNeg(x); }
  Value *fma(Value *x, Value *y, Value *z) const {
    return b.CreateIntrinsic(llvm::Intrinsic::fma, {ty}, {x, y, z});
  }
  Value *fabs(Value *x) const { return b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x); }
  Value *copysign(Value *mag, Value *sign) const {
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, mag, sign);
  }
  // Ordered compares are false on NaN, exactly like C++ `<` and `>`.
  Value *lt(Value *x, Value *y) const { return b.CreateFCmpOLT(x, y); }
  Value *gt(Value *x, Value *y) const { return b.CreateFCmpOGT(x, y); }
  Value *is_nan(Value *x) const { return b.CreateFCmpUNO(x, x); }
  Value *sel(Value *cond, Value *x, Value *y) const { return b.CreateSelect(cond, x, y); }
};

// Calls the C library's `name` (with an `f` suffix for float) lane by lane. The call sites
// are `nobuiltin` so LLVM cannot swap in a different function (pow(x, 0.5) -> sqrt,
// pow(2, x) -> exp2, sin(-x) -> -sin(x)) whose last bit may differ from what eager gets.
Value *call_libm(llvm::IRBuilder<> &b, std::string_view name, llvm::ArrayRef<Value *> args) {
  llvm::Type *ty = args[0]->getType();
  llvm::Type *scalar = ty->getScalarType();
  std::string symbol(name);
  if (scalar->isFloatTy()) symbol += 'f';
  llvm::SmallVector<llvm::Type *, 2> params(args.size(), scalar);
  llvm::Module *module = b.GetInsertBlock()->getModule();
  llvm::FunctionCallee fn =
      module->getOrInsertFunction(symbol, llvm::FunctionType::get(scalar, params, false));
  if (auto *decl = llvm::dyn_cast<llvm::Function>(fn.getCallee())) {
    // errno is the only memory these touch, and generated code never reads it.
    decl->setDoesNotThrow();
    decl->setWillReturn();
    decl->setDoesNotAccessMemory();
  }
  auto call = [&](llvm::ArrayRef<Value *> operands) {
    llvm::CallInst *inst = b.CreateCall(fn, operands);
    inst->addFnAttr(llvm::Attribute::NoBuiltin);
    return inst;
  };
  auto *vec = llvm::dyn_cast<llvm::FixedVectorType>(ty);
  if (vec == nullptr) return call(args);
  Value *out = llvm::PoisonValue::get(ty);
  for (unsigned i = 0; i < vec->getNumElements(); ++i) {
    llvm::SmallVector<Value *, 2> lane;
    for (Value *a : args) lane.push_back(b.CreateExtractElement(a, i));
    out = b.CreateInsertElement(out, call(lane), i);
  }
  return out;
}

// p * 2^n for f32 vectors of 16 or 32 lanes on an AVX-512 host, as vscalefps: one
// instruction, and the same single rounding as fast_exp's two multiplies (the first is exact
// for |n| <= 150), so the bits agree. Null where it does not apply.
Value *scalef_avx512(const Fp &f, Value *p, Value *n) {
  llvm::IRBuilder<> &b = f.b;
  auto *vec = llvm::dyn_cast<llvm::FixedVectorType>(f.ty);
  if (vec == nullptr || !f.ty->getScalarType()->isFloatTy() || vec->getNumElements() % 16 != 0)
    return nullptr;
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  if (!fn->getFnAttribute("target-features").getValueAsString().contains("+avx512f"))
    return nullptr;
  auto *reg = llvm::FixedVectorType::get(b.getFloatTy(), 16);
  auto lanes = [](unsigned first, unsigned count) {
    llvm::SmallVector<int, 64> out;
    for (unsigned i = 0; i < count; ++i) out.push_back(static_cast<int>(first + i));
    return out;
  };
  const unsigned parts = vec->getNumElements() / 16;
  std::vector<Value *> pieces;
  for (unsigned part = 0; part < parts; ++part) {
    Value *pp = parts == 1 ? p : b.CreateShuffleVector(p, lanes(part * 16, 16));
    Value *np = parts == 1 ? n : b.CreateShuffleVector(n, lanes(part * 16, 16));
    // (a, b, passthrough, mask, rounding): every lane, in the current rounding mode.
    pieces.push_back(
        b.CreateIntrinsic(llvm::Intrinsic::x86_avx512_mask_scalef_ps_512, {},
                          {pp, np, llvm::PoisonValue::get(reg), b.getInt16(-1), b.getInt32(4)}));
  }
  for (unsigned width = 16; pieces.size() > 1; width *= 2) {  // join neighbours until one
    std::vector<Value *> joined;
    for (size_t i = 0; i < pieces.size(); i += 2)
      joined.push_back(b.CreateShuffleVector(pieces[i], pieces[i + 1], lanes(0, 2 * width)));
    pieces = std::move(joined);
  }
  return pieces[0];
}

// fast_exp. Where the C++ reads `a * b + c` (or `c - a * b`) this emits one fma: eager is
// built with -ffp-contract=fast and -march=native, and GCC fuses exactly those two spots.
Value *exp_f32(const Fp &f, Value *x) {
  llvm::IRBuilder<> &b = f.b;
  Value *nan = f.is_nan(x);
  Value *xc = f.sel(f.lt(x, f.c(-104.0f)), f.c(-104.0f), x);
  xc = f.sel(f.gt(xc, f.c(88.8f)), f.c(88.8f), xc);
  xc = f.sel(nan, f.c(0.0f), xc);
  constexpr float kRound = 12582912.0f;
  Value *n = f.sub(f.fma(xc, f.c(1.44269504f), f.c(kRound)), f.c(kRound));
  Value *r = f.fma(n, f.c(-0.693145752f), xc);
  r = f.fma(n, f.c(-1.42860677e-6f), r);
  Value *p = f.c(1.0f / 5040);
  for (float k : {1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f})
    p = f.fma(p, r, f.c(k));
  Value *result;
  if (Value *scaled = scalef_avx512(f, p, n)) {
    result = scaled;
  } else {
    // n is integral and within [-150, 128] here, so the conversion is exact and in range.
    Value *ni = b.CreateFPToSI(n, f.int_ty());
    Value *half = b.CreateSDiv(ni, f.ci(2));
    auto pow2 = [&](Value *e) {
      return b.CreateBitCast(b.CreateShl(b.CreateAdd(e, f.ci(127)), f.ci(23)), f.ty);
    };
    result = f.mul(f.mul(p, pow2(half)), pow2(b.CreateSub(ni, half)));
  }
  result = f.sel(f.gt(x, f.c(88.7228394f)), f.c(INFINITY), result);
  return f.sel(nan, x, result);
}

Value *tanh_f32(const Fp &f, Value *x) {
  Value *ax = f.fabs(x);
  Value *e = exp_f32(f, f.mul(f.c(2.0f), ax));
  Value *big = f.sub(f.c(1.0f), f.div(f.c(2.0f), f.add(e, f.c(1.0f))));
  Value *z = f.mul(ax, ax);
  Value *p = f.c(-929569.0f / 638512875.0f);
  for (float k : {21844.0f / 6081075.0f, -1382.0f / 155925.0f, 62.0f / 2835.0f, -17.0f / 315.0f,
                  2.0f / 15.0f, -1.0f / 3.0f})
    p = f.fma(p, z, f.c(k));
  Value *small = f.fma(f.mul(p, z), ax, ax);
  return f.copysign(f.sel(f.lt(ax, f.c(0.5f)), small, big), x);
}

Value *erf_f32(const Fp &f, Value *x) {
  Value *ax = f.fabs(x);
  Value *z = f.mul(ax, ax);
  Value *p = f.c(1.0f / 9360.0f);
  for (float k : {-1.0f / 1320.0f, 1.0f / 216.0f, -1.0f / 42.0f, 1.0f / 10.0f, -1.0f / 3.0f, 1.0f})
    p = f.fma(p, z, f.c(k));
  Value *small = f.mul(f.mul(f.c(1.12837917f), ax), p);
  Value *t = f.div(f.c(1.0f), f.fma(f.c(0.3275911f), ax, f.c(1.0f)));
  Value *q = f.c(1.061405429f);
  for (float k : {-1.453152027f, 1.421413741f, -0.284496736f, 0.254829592f})
    q = f.fma(q, t, f.c(k));
  // `1 - q * t * e`, which GCC contracts into fnmadd(q * t, e, 1).
  // fast_erf's clamp: 1 past |x| = 5, where e^-z would be denormal (NaN goes through).
  Value *held = f.sel(f.gt(z, f.c(25.0f)), f.c(25.0f), z);
  Value *big = f.fma(f.neg(f.mul(q, t)), exp_f32(f, f.neg(held)), f.c(1.0f));
  big = f.sel(f.gt(ax, f.c(5.0f)), f.c(1.0f), big);
  return f.copysign(f.sel(f.lt(ax, f.c(0.5f)), small, big), x);
}

}  // namespace

Value *emit_unary_math(llvm::IRBuilder<> &b, OpKind op, Value *x) {
  llvm::IRBuilderBase::FastMathFlagGuard keep(b);
  b.clearFastMathFlags();
  const Fp f{b, x->getType()};
  llvm::Type *scalar = x->getType()->getScalarType();
  KILN_CHECK(scalar->isFloatTy() || scalar->isDoubleTy(), "{} wants f32 or f64", op_name(op));
  // fast_math.h's k_* front doors: f32 takes the polynomial, f64 takes libm.
  const bool f32 = scalar->isFloatTy();
  auto exp_of = [&](Value *v) { return f32 ? exp_f32(f, v) : call_libm(b, "exp", {v}); };
  // The one switch over every op lives in emit_op.cpp; this helper answers a subset.
  switch (op) {
    case OpKind::Exp: return exp_of(x);
    case OpKind::Log: return call_libm(b, "log", {x});
    case OpKind::Log1p: return call_libm(b, "log1p", {x});
    case OpKind::Expm1: return call_libm(b, "expm1", {x});
    case OpKind::Sin: return call_libm(b, "sin", {x});
    case OpKind::Cos: return call_libm(b, "cos", {x});
    case OpKind::Tanh: return f32 ? tanh_f32(f, x) : call_libm(b, "tanh", {x});
    case OpKind::Sigmoid: return f.div(f.c(1.0f), f.add(f.c(1.0f), exp_of(f.neg(x))));
    case OpKind::Erf: return f32 ? erf_f32(f, x) : call_libm(b, "erf", {x});
    default: break;
  }
  KILN_UNREACHABLE("{} is not a unary math op", op_name(op));
}

Value *emit_binary_math(llvm::IRBuilder<> &b, OpKind op, Value *x, Value *y) {
  llvm::IRBuilderBase::FastMathFlagGuard keep(b);
  b.clearFastMathFlags();
  KILN_CHECK(x->getType() == y->getType(), "{}: operand types differ", op_name(op));
  llvm::Type *scalar = x->getType()->getScalarType();
  KILN_CHECK(scalar->isFloatTy() || scalar->isDoubleTy(), "{} wants f32 or f64", op_name(op));
  switch (op) {
    case OpKind::Pow: return call_libm(b, "pow", {x, y});
    case OpKind::Fmod: return call_libm(b, "fmod", {x, y});
    default: break;
  }
  KILN_UNREACHABLE("{} is not a binary math op", op_name(op));
}

}  // namespace kiln::lower::cpu
