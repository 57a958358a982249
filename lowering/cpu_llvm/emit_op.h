// Scalar code for one elementwise op, on scalars or vectors alike (IRBuilder instructions
// are elementwise on vectors), with exactly the eager kernels' semantics: NaN propagation,
// integer wrap-around, saturating float-to-int conversion.
#pragma once

#include <span>

#include "ir/attrs.h"
#include "ir/dtype.h"
#include "ir/op_kind.h"
#include "lowering/cpu_llvm/jit.h"

namespace kiln::lower::cpu {

// The register type of a dtype (bool is i1); vectors of it when width > 1.
[[nodiscard]] llvm::Type *register_type(llvm::LLVMContext &ctx, DType dtype, unsigned width = 1);
// The in-memory element type (bool is i8).
[[nodiscard]] llvm::Type *memory_type(llvm::LLVMContext &ctx, DType dtype);

[[nodiscard]] llvm::Value *emit_convert(llvm::IRBuilder<> &b, llvm::Value *x, DType from, DType to);

// `x` (scalar or vector) of type `dtype` with the given value in every lane.
[[nodiscard]] llvm::Value *emit_constant(llvm::IRBuilder<> &b, llvm::Type *like, DType dtype,
                                         double value);

// op(operands) for an elementwise op; `in` is the operands' dtype (equal for all but
// where's condition), `out` the result's.
[[nodiscard]] llvm::Value *emit_op(llvm::IRBuilder<> &b, OpKind op, const Attrs &attrs,
                                   std::span<llvm::Value *const> operands, DType in, DType out);

// The accumulator combine of a reduction (Sum, Prod, Max, Min, All, Any) and its identity.
[[nodiscard]] llvm::Value *emit_combine(llvm::IRBuilder<> &b, OpKind combine, DType dtype,
                                        llvm::Value *acc, llvm::Value *x);
[[nodiscard]] llvm::Value *emit_identity(llvm::IRBuilder<> &b, llvm::Type *like, OpKind combine,
                                         DType dtype);

}  // namespace kiln::lower::cpu
