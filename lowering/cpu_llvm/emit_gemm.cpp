// The GEMM micro-kernel. Per step of the depth loop: nr / lanes vector loads of packed B,
// then for each of the mr rows one broadcast of packed A and one fused multiply-add per
// vector into that row's accumulators. The accumulators are SSA values (loop phis), so
// LLVM keeps all mr x nr / lanes of them in registers; with the default 8 x 2 tile that is
// 16 of AVX-512's 32, plus 2 for B and 1 for A. Edge tiles compute on zero padding and
// mask their loads and stores, so there is one code path for every tile.
#include "lowering/cpu_llvm/emit_gemm.h"

#include <cstddef>

#include "ir/diag.h"
#include "lowering/cpu_llvm/emit_op.h"
#include "runtime/gemm.h"

namespace kiln::lower::cpu {
namespace {

using llvm::BasicBlock;
using llvm::Value;
using Args = runtime::GemmTileArgs;

Value *field(llvm::IRBuilder<> &b, Value *tile, size_t offset, llvm::Type *type) {
  return b.CreateLoad(type, b.CreateConstGEP1_64(b.getInt8Ty(), tile, offset));
}

}  // namespace

unsigned gemm_lanes(DType dtype) { return static_cast<unsigned>(64 / dtype_size(dtype)); }

void emit_gemm_tile(llvm::IRBuilder<> &b, llvm::Function *fn, BasicBlock *entry, const ir::Gemm &gemm,
                    Value *tile, const GemmEpilogue &epilogue) {
  llvm::LLVMContext &ctx = b.getContext();
  const unsigned lanes = gemm_lanes(gemm.dtype);
  const int64_t mr = gemm.tile.mr, nr = gemm.tile.nr, nv = nr / static_cast<int64_t>(lanes);
  KILN_CHECK(mr >= 1 && nv >= 1 && nr % lanes == 0, "gemm tile {}x{}: nr must be a multiple of {} lanes", mr, nr,
             lanes);
  llvm::Type *elem = register_type(ctx, gemm.dtype);
  llvm::Type *i64 = b.getInt64Ty();
  auto *vec = llvm::FixedVectorType::get(elem, lanes);
  const llvm::Align elem_align(dtype_size(gemm.dtype)), vec_align(64);
  Value *packed_a = field(b, tile, offsetof(Args, packed_a), b.getPtrTy());
  Value *packed_b = field(b, tile, offsetof(Args, packed_b), b.getPtrTy());
  Value *depth = field(b, tile, offsetof(Args, depth), i64);
  Value *partial = field(b, tile, offsetof(Args, partial), b.getPtrTy());
  Value *ldc = field(b, tile, offsetof(Args, ldc), i64);
  Value *row = field(b, tile, offsetof(Args, row), i64);
  Value *col = field(b, tile, offsetof(Args, col), i64);
  Value *rows = field(b, tile, offsetof(Args, rows), i64);
  Value *cols = field(b, tile, offsetof(Args, cols), i64);
  Value *flags = field(b, tile, offsetof(Args, flags), i64);

  // The depth loop, accumulators as phis.
  BasicBlock *before = b.GetInsertBlock();
  auto *header = BasicBlock::Create(ctx, "depth", fn);
  auto *body = BasicBlock::Create(ctx, "depth.body", fn);
  auto *done = BasicBlock::Create(ctx, "depth.done", fn);
  b.CreateBr(header);
  b.SetInsertPoint(header);
  llvm::PHINode *k = b.CreatePHI(i64, 2);
  k->addIncoming(b.getInt64(0), before);
  std::vector<llvm::PHINode *> acc(static_cast<size_t>(mr * nv));
  for (llvm::PHINode *&a : acc) {
    a = b.CreatePHI(vec, 2);
    a->addIncoming(llvm::Constant::getNullValue(vec), before);
  }
  b.CreateCondBr(b.CreateICmpSLT(k, depth), body, done);
  b.SetInsertPoint(body);
  Value *b_row = b.CreateGEP(elem, packed_b, b.CreateMul(k, b.getInt64(nr)));
  std::vector<Value *> bv;
  for (int64_t v = 0; v < nv; ++v)
    bv.push_back(b.CreateAlignedLoad(vec, b.CreateConstGEP1_64(elem, b_row, v * lanes), elem_align));
  Value *a_col = b.CreateGEP(elem, packed_a, b.CreateMul(k, b.getInt64(mr)));
  for (int64_t i = 0; i < mr; ++i) {
    Value *a = b.CreateVectorSplat(lanes, b.CreateLoad(elem, b.CreateConstGEP1_64(elem, a_col, i)));
    for (int64_t v = 0; v < nv; ++v) {
      llvm::PHINode *phi = acc[static_cast<size_t>(i * nv + v)];
      phi->addIncoming(b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vec}, {a, bv[v], phi}), body);
    }
  }
  k->addIncoming(b.CreateAdd(k, b.getInt64(1)), body);
  b.CreateBr(header);
  b.SetInsertPoint(done);

  // The finished sums go to a tile on the stack, which the partial sums are added to and
  // the epilogue reads row by row.
  Value *stack;
  {
    llvm::IRBuilder<> at(entry, entry->begin());
    auto *alloca = at.CreateAlloca(llvm::ArrayType::get(elem, static_cast<uint64_t>(mr * nr)));
    alloca->setAlignment(vec_align);
    stack = alloca;
  }
  auto stack_at = [&](Value *i, int64_t v) {
    return b.CreateGEP(elem, stack, b.CreateAdd(b.CreateMul(i, b.getInt64(nr)), b.getInt64(v * lanes)));
  };
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t v = 0; v < nv; ++v)
      b.CreateAlignedStore(acc[static_cast<size_t>(i * nv + v)], stack_at(b.getInt64(i), v), vec_align);

  std::vector<llvm::Constant *> lane_ids;
  for (unsigned l = 0; l < lanes; ++l) lane_ids.push_back(b.getInt64(l));
  Value *lane_offsets = llvm::ConstantVector::get(lane_ids);
  auto col_mask = [&](int64_t v) {
    return b.CreateICmpSLT(b.CreateAdd(b.CreateVectorSplat(lanes, b.getInt64(v * lanes)), lane_offsets),
                           b.CreateVectorSplat(lanes, cols));
  };
  auto in_range = [&](int64_t i, int64_t v) {
    return b.CreateAnd(col_mask(v), b.CreateVectorSplat(lanes, b.CreateICmpSLT(b.getInt64(i), rows)));
  };
  auto partial_at = [&](int64_t i, int64_t v) {
    return b.CreateGEP(elem, partial, b.CreateAdd(b.CreateMul(b.getInt64(i), ldc), b.getInt64(v * lanes)));
  };
  auto flag_set = [&](int64_t flag) { return b.CreateICmpNE(b.CreateAnd(flags, flag), b.getInt64(0)); };

  auto *accumulate = BasicBlock::Create(ctx, "tile.accumulate", fn);
  auto *choose = BasicBlock::Create(ctx, "tile.choose", fn);
  b.CreateCondBr(flag_set(runtime::kGemmAccumulate), accumulate, choose);
  b.SetInsertPoint(accumulate);
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t v = 0; v < nv; ++v) {
      Value *old = b.CreateMaskedLoad(vec, partial_at(i, v), elem_align, in_range(i, v), llvm::Constant::getNullValue(vec));
      Value *slot = stack_at(b.getInt64(i), v);
      b.CreateAlignedStore(b.CreateFAdd(b.CreateAlignedLoad(vec, slot, vec_align), old), slot, vec_align);
    }
  b.CreateBr(choose);
  b.SetInsertPoint(choose);
  auto *finish = BasicBlock::Create(ctx, "tile.finish", fn);
  auto *store = BasicBlock::Create(ctx, "tile.store_partial", fn);
  auto *end = BasicBlock::Create(ctx, "tile.end", fn);
  b.CreateCondBr(flag_set(runtime::kGemmFinish), finish, store);

  b.SetInsertPoint(store);
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t v = 0; v < nv; ++v)
      b.CreateMaskedStore(b.CreateAlignedLoad(vec, stack_at(b.getInt64(i), v), vec_align), partial_at(i, v),
                          elem_align, in_range(i, v));
  b.CreateBr(end);

  // The epilogue, one row of the tile at a time; a vector wholly past the columns in range
  // is skipped (its lanes would have no element to stand for).
  b.SetInsertPoint(finish);
  auto *row_header = BasicBlock::Create(ctx, "tile.row", fn);
  auto *row_body = BasicBlock::Create(ctx, "tile.row.body", fn);
  b.CreateBr(row_header);
  b.SetInsertPoint(row_header);
  llvm::PHINode *r = b.CreatePHI(i64, 2);
  r->addIncoming(b.getInt64(0), finish);
  b.CreateCondBr(b.CreateICmpSLT(r, rows), row_body, end);
  b.SetInsertPoint(row_body);
  Value *col_end = b.CreateAdd(col, cols);
  for (int64_t v = 0; v < nv; ++v) {
    BasicBlock *next = nullptr;
    if (v > 0) {
      auto *then = BasicBlock::Create(ctx, "tile.vector", fn);
      next = BasicBlock::Create(ctx, "tile.vector.next", fn);
      b.CreateCondBr(b.CreateICmpSLT(b.getInt64(v * lanes), cols), then, next);
      b.SetInsertPoint(then);
    }
    Value *product = b.CreateAlignedLoad(vec, stack_at(r, v), vec_align);
    epilogue(b.CreateAdd(row, r), b.CreateAdd(col, b.getInt64(v * lanes)), col_end, col_mask(v), product);
    if (next != nullptr) {
      b.CreateBr(next);
      b.SetInsertPoint(next);
    }
  }
  r->addIncoming(b.CreateAdd(r, b.getInt64(1)), b.GetInsertBlock());
  b.CreateBr(row_header);
  b.SetInsertPoint(end);
}

}  // namespace kiln::lower::cpu
