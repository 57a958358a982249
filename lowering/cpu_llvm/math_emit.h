// Inline LLVM IR for the transcendental elementwise ops, on scalars and fixed vectors alike,
// so that kernels stay vectorised. Results equal the eager CPU kernels bit for bit: f32
// exp/tanh/sigmoid/erf replay runtime/reference/fast_math.h, everything else calls libm.
#pragma once

#include <llvm/IR/IRBuilder.h>

#include "ir/op_kind.h"

namespace kiln::lower::cpu {

// Emits op(x) for x of type float, double, <N x float> or <N x double>; returns the same type.
// Handles OpKind::{Exp, Log, Log1p, Expm1, Sin, Cos, Tanh, Sigmoid, Erf}.
llvm::Value *emit_unary_math(llvm::IRBuilder<> &b, OpKind op, llvm::Value *x);

// Pow and Fmod, both operands of the same float/double (vector) type.
llvm::Value *emit_binary_math(llvm::IRBuilder<> &b, OpKind op, llvm::Value *x, llvm::Value *y);

}  // namespace kiln::lower::cpu
