// The GEMM micro-kernel: per depth step, nr / lanes loads of packed B, then per row of the
// tile one broadcast of packed A and one fused multiply-add per vector. The sums are SSA
// values (loop phis), so LLVM keeps the whole tile in registers (see lower::gemm_tile).
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

void emit_gemm_tile(llvm::IRBuilder<> &b, llvm::Function *fn, BasicBlock *entry,
                    const lower::Gemm &gemm, unsigned lanes, Value *tile, bool unrolled_epilogue,
                    const GemmEpilogue &epilogue) {
  llvm::LLVMContext &ctx = b.getContext();
  const int64_t mr = gemm.tile.mr, nr = gemm.tile.nr, nv = nr / static_cast<int64_t>(lanes);
  KILN_CHECK(mr >= 1 && nv >= 1 && nr % lanes == 0,
             "gemm tile {}x{}: nr must be a multiple of {} lanes", mr, nr, lanes);
  llvm::Type *elem = register_type(ctx, gemm.dtype);
  llvm::Type *i64 = b.getInt64Ty();
  auto *vec = llvm::FixedVectorType::get(elem, lanes);
  const llvm::Align elem_align(dtype_size(gemm.dtype)), vec_align(lanes * dtype_size(gemm.dtype));
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

  // The tile's partial sums are read or written after the depth loop; a C far bigger than
  // the caches makes each of its rows a miss. Asking for them (for writing) now hides that
  // behind the loop's multiply-adds. A prefetch never faults, so edge tiles need no mask;
  // a product without partial sums (one depth block, no output of C's dtype) skips it.
  {
    auto *fetch = BasicBlock::Create(ctx, "tile.prefetch", fn);
    auto *fetched = BasicBlock::Create(ctx, "tile.prefetched", fn);
    b.CreateCondBr(b.CreateIsNotNull(partial), fetch, fetched);
    b.SetInsertPoint(fetch);
    const int64_t line_elements = 64 / static_cast<int64_t>(dtype_size(gemm.dtype));
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t c = 0; c < nr; c += line_elements)
        b.CreateIntrinsic(llvm::Intrinsic::prefetch, {b.getPtrTy()},
                          {b.CreateGEP(elem, partial,
                                       b.CreateAdd(b.CreateMul(b.getInt64(i), ldc), b.getInt64(c))),
                           b.getInt32(1), b.getInt32(3), b.getInt32(1)});
    b.CreateBr(fetched);
    b.SetInsertPoint(fetched);
  }

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
    bv.push_back(
        b.CreateAlignedLoad(vec, b.CreateConstGEP1_64(elem, b_row, v * lanes), elem_align));
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

  std::vector<llvm::Constant *> lane_ids;
  for (unsigned l = 0; l < lanes; ++l) lane_ids.push_back(b.getInt64(l));
  Value *lane_offsets = llvm::ConstantVector::get(lane_ids);
  auto col_mask = [&](int64_t v) {
    return b.CreateICmpSLT(
        b.CreateAdd(b.CreateVectorSplat(lanes, b.getInt64(v * lanes)), lane_offsets),
        b.CreateVectorSplat(lanes, cols));
  };
  auto in_range = [&](int64_t i, int64_t v) {
    return b.CreateAnd(col_mask(v),
                       b.CreateVectorSplat(lanes, b.CreateICmpSLT(b.getInt64(i), rows)));
  };
  auto partial_at = [&](int64_t i, int64_t v) {
    return b.CreateGEP(elem, partial,
                       b.CreateAdd(b.CreateMul(b.getInt64(i), ldc), b.getInt64(v * lanes)));
  };
  auto flag_set = [&](int64_t flag) {
    return b.CreateICmpNE(b.CreateAnd(flags, flag), b.getInt64(0));
  };
  // `then` under `cond`, continuing after it either way.
  auto when = [&](Value *cond, const char *name, const std::function<void()> &then) {
    auto *inside = BasicBlock::Create(ctx, name, fn);
    auto *after = BasicBlock::Create(ctx, std::string(name) + ".after", fn);
    b.CreateCondBr(cond, inside, after);
    b.SetInsertPoint(inside);
    then();
    b.CreateBr(after);
    b.SetInsertPoint(after);
  };

  // Whole tiles read and write partial sums with plain moves: masked ones are slower on
  // Zen 4 even with every lane set (measured: the 1024^3 product took 1.3x as long).
  Value *whole_tile =
      b.CreateAnd(b.CreateICmpEQ(rows, b.getInt64(mr)), b.CreateICmpEQ(cols, b.getInt64(nr)));
  // body(true) for a whole tile, body(false) for an edge tile; what they return joins in phis.
  auto on_full = [&](const std::function<std::vector<Value *>(bool)> &body) {
    auto *whole = BasicBlock::Create(ctx, "tile.whole", fn);
    auto *edge = BasicBlock::Create(ctx, "tile.edge", fn);
    auto *join = BasicBlock::Create(ctx, "tile.join", fn);
    b.CreateCondBr(whole_tile, whole, edge);
    b.SetInsertPoint(whole);
    std::vector<Value *> a = body(true);
    BasicBlock *a_end = b.GetInsertBlock();
    b.CreateBr(join);
    b.SetInsertPoint(edge);
    std::vector<Value *> c = body(false);
    BasicBlock *c_end = b.GetInsertBlock();
    b.CreateBr(join);
    b.SetInsertPoint(join);
    std::vector<Value *> out;
    for (size_t i = 0; i < a.size(); ++i) {
      llvm::PHINode *phi = b.CreatePHI(a[i]->getType(), 2);
      phi->addIncoming(a[i], a_end);
      phi->addIncoming(c[i], c_end);
      out.push_back(phi);
    }
    return out;
  };

  // The sums stay in registers (phis) on every path: spilling them to a stack tile and
  // reading them back stalls on store forwarding, a quarter of a short-depth tile's time.
  std::vector<Value *> sums(acc.begin(), acc.end());
  {
    BasicBlock *from = b.GetInsertBlock();
    auto *accumulate = BasicBlock::Create(ctx, "tile.accumulate", fn);
    auto *merged = BasicBlock::Create(ctx, "tile.sums", fn);
    b.CreateCondBr(flag_set(runtime::kGemmAccumulate), accumulate, merged);
    b.SetInsertPoint(accumulate);
    std::vector<Value *> added = on_full([&](bool whole) {
      std::vector<Value *> out;
      for (int64_t i = 0; i < mr; ++i)
        for (int64_t v = 0; v < nv; ++v) {
          Value *old =
              whole ? static_cast<Value *>(b.CreateAlignedLoad(vec, partial_at(i, v), elem_align))
                    : b.CreateMaskedLoad(vec, partial_at(i, v), elem_align, in_range(i, v),
                                         llvm::Constant::getNullValue(vec));
          out.push_back(b.CreateFAdd(sums[static_cast<size_t>(i * nv + v)], old));
        }
      return out;
    });
    BasicBlock *accumulated = b.GetInsertBlock();
    b.CreateBr(merged);
    b.SetInsertPoint(merged);
    for (size_t s = 0; s < sums.size(); ++s) {
      llvm::PHINode *phi = b.CreatePHI(vec, 2);
      phi->addIncoming(sums[s], from);
      phi->addIncoming(added[s], accumulated);
      sums[s] = phi;
    }
  }
  auto *finish = BasicBlock::Create(ctx, "tile.finish", fn);
  auto *store = BasicBlock::Create(ctx, "tile.store_partial", fn);
  auto *end = BasicBlock::Create(ctx, "tile.end", fn);
  b.CreateCondBr(flag_set(runtime::kGemmFinish), finish, store);

  b.SetInsertPoint(store);
  on_full([&](bool whole) {
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t v = 0; v < nv; ++v) {
        Value *sum = sums[static_cast<size_t>(i * nv + v)];
        if (whole)
          b.CreateAlignedStore(sum, partial_at(i, v), elem_align);
        else
          b.CreateMaskedStore(sum, partial_at(i, v), elem_align, in_range(i, v));
      }
    return std::vector<Value *>{};
  });
  b.CreateBr(end);

  // The epilogue on each row of the tile in range. Edge tiles compute on the packing's
  // zero padding and mask what they read and write; whole tiles use plain moves.
  b.SetInsertPoint(finish);
  Value *col_end = b.CreateAdd(col, cols);
  using SumAt = std::function<Value *(int64_t)>;
  // A whole tile's row: every vector, unmasked.
  auto whole_row = [&](Value *r, const SumAt &sum_at) {
    for (int64_t v = 0; v < nv; ++v)
      epilogue(b.CreateAdd(row, r), b.CreateAdd(col, b.getInt64(v * lanes)), col_end, nullptr,
               sum_at(v));
  };
  // An edge tile's row: masked to the columns in range; a vector wholly past them is
  // skipped (its lanes would stand for no element).
  auto edge_row = [&](Value *r, const SumAt &sum_at) {
    for (int64_t v = 0; v < nv; ++v) {
      auto one = [&] {
        epilogue(b.CreateAdd(row, r), b.CreateAdd(col, b.getInt64(v * lanes)), col_end, col_mask(v),
                 sum_at(v));
      };
      if (v == 0)
        one();
      else
        when(b.CreateICmpSLT(b.getInt64(v * lanes), cols), "tile.vector", one);
    }
  };
  // The epilogue in a loop over `count` rows, reading them from a tile on the stack.
  Value *stack = nullptr;
  auto row_loop = [&](Value *count, const std::function<void(Value *, const SumAt &)> &one_row) {
    if (stack == nullptr) {
      llvm::IRBuilder<> at(entry, entry->begin());
      auto *alloca = at.CreateAlloca(llvm::ArrayType::get(elem, static_cast<uint64_t>(mr * nr)));
      alloca->setAlignment(vec_align);
      stack = alloca;
    }
    auto stack_at = [&](Value *i, int64_t v) {
      return b.CreateGEP(elem, stack,
                         b.CreateAdd(b.CreateMul(i, b.getInt64(nr)), b.getInt64(v * lanes)));
    };
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t v = 0; v < nv; ++v)
        b.CreateAlignedStore(sums[static_cast<size_t>(i * nv + v)], stack_at(b.getInt64(i), v),
                             vec_align);
    BasicBlock *before_loop = b.GetInsertBlock();
    auto *header = BasicBlock::Create(ctx, "tile.row", fn);
    auto *body = BasicBlock::Create(ctx, "tile.row.body", fn);
    auto *after = BasicBlock::Create(ctx, "tile.rows.done", fn);
    b.CreateBr(header);
    b.SetInsertPoint(header);
    llvm::PHINode *r = b.CreatePHI(i64, 2);
    r->addIncoming(b.getInt64(0), before_loop);
    b.CreateCondBr(b.CreateICmpSLT(r, count), body, after);
    b.SetInsertPoint(body);
    one_row(r, [&](int64_t v) { return b.CreateAlignedLoad(vec, stack_at(r, v), vec_align); });
    r->addIncoming(b.CreateAdd(r, b.getInt64(1)), b.GetInsertBlock());
    b.CreateBr(header);
    b.SetInsertPoint(after);
  };
  auto *whole = BasicBlock::Create(ctx, "tile.finish.whole", fn);
  auto *edge = BasicBlock::Create(ctx, "tile.finish.edge", fn);
  b.CreateCondBr(whole_tile, whole, edge);
  b.SetInsertPoint(whole);
  if (unrolled_epilogue) {
    for (int64_t i = 0; i < mr; ++i)
      whole_row(b.getInt64(i), [&](int64_t v) { return sums[static_cast<size_t>(i * nv + v)]; });
  } else {
    row_loop(b.getInt64(mr), whole_row);
  }
  b.CreateBr(end);
  b.SetInsertPoint(edge);
  row_loop(rows, edge_row);
  b.CreateBr(end);
  b.SetInsertPoint(end);
}

}  // namespace kiln::lower::cpu
