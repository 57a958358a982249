// Kernel IR → one LLVM function `void(ptr args, ptr sizes, i64 begin, i64 end)`. The innermost
// vector loop steps a whole vector at a time, then runs one vector masked to the lanes left (no
// scalar tail). Values are explicit <V x T> vectors of one to four machine registers, so
// the code is vectorized whatever the loop vectorizer decides, and each instruction
// becomes several independent ones: long dependency chains (a chain of tanh) overlap
// instead of stalling.
// Reductions keep a vector accumulator, folded lane by lane into the scalar one after.
// A matmul kernel is the GEMM micro-kernel (emit_gemm.cpp) with the loop body emitted as
// its epilogue at each vector of each finished tile.
#include "lowering/cpu_llvm/emit_kernel.h"

#include <llvm/IR/IntrinsicsX86.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <functional>
#include <map>

#include "ir/diag.h"
#include "lowering/cpu_llvm/emit_gemm.h"
#include "lowering/cpu_llvm/emit_op.h"
#include "runtime/gemm.h"

namespace kiln::lower::cpu {
namespace {

using llvm::Value;
using lower::Stmt;

class KernelEmitter {
 public:
  KernelEmitter(llvm::Module &m, const lower::Kernel &k, const KernelChoices &choices)
      : k_(k),
        choices_(choices),
        ctx_(m.getContext()),
        m_(m),
        b_(ctx_),
        acc_slots_(k.accs.size()),
        vacc_slots_(k.accs.size()),
        loop_vars_(k.loops.size()),
        scalars_(k.scalars.size()),
        lane_slots_(k.accs.size()) {
    int64_t widest = 1;
    for (const lower::Scalar &s : k.scalars)
      if (s.kind == lower::Scalar::Kind::Load) widest = std::max(widest, dtype_size(s.dtype));
    for (const lower::KernelArg &a : k.args)
      if (a.written) widest = std::max(widest, dtype_size(a.dtype));
    const int64_t cost = body_cost();
    // Wide values hide latency while they fit the 32 vector registers; past that they
    // spill. Measured on AMD Zen 4 (this project's machine, 2026-12-02): two registers per
    // value are as fast as four or faster everywhere; a pointwise body with a math function
    // (tanh: spilled constants) or a long body (W1: 82 ms at four, 36 at one) wants one.
    // Register allocation time also grows faster than linearly with the body.
    // The width is in bytes, not in the target's registers: LLVM splits a wider value. On an
    // AVX2 Zen 3 (2026-12-07, 1 thread) values of the target's width were no faster (W2, W3,
    // W9-10 within noise) and W1 slower (67-72 ms against 55-67 at these 64-byte values).
    // KernelChoices::registers_per_value overrides this.
    const bool rows = !k.accs.empty();
    const int64_t registers = choices.registers_per_value > 0 ? choices.registers_per_value
                              : cost > (rows ? 48 : 8)        ? 1
                                                              : 2;
    vector_width_ = static_cast<unsigned>(std::clamp<int64_t>(registers * 64 / widest, 8, 64));
  }

  // Roughly the instructions of one element of the body.
  int64_t body_cost() const {
    int64_t cost = 0;
    for (const lower::Scalar &s : k_.scalars)
      if (s.kind == lower::Scalar::Kind::Op) cost += is_math_function(s.op) ? 16 : 1;
    return cost;
  }

  llvm::Function *emit(const std::string &symbol, const std::string &cpu,
                       const std::string &features) {
    if (k_.gemm) return emit_gemm(symbol, cpu, features);
    start_function({b_.getPtrTy(), b_.getPtrTy(), b_.getInt64Ty(), b_.getInt64Ty()}, symbol, cpu,
                   features);
    auto arg = fn_->arg_begin();
    Value *args = &*arg++;
    sizes_ = &*arg++;
    begin_ = &*arg++;
    end_ = &*arg;
    load_args(args);
    for (size_t a = 0; a < k_.accs.size(); ++a)
      acc_slots_[a] = b_.CreateAlloca(register_type(ctx_, k_.accs[a].dtype));
    emit_block(k_.body);
    // Non-temporal stores are weakly ordered: fence them before the next step reads.
    if (streamed_ && llvm::StringRef(m_.getTargetTriple()).starts_with("x86_64"))
      b_.CreateIntrinsic(llvm::Intrinsic::x86_sse_sfence, {}, {});
    b_.CreateRetVoid();
    return fn_;
  }

  // `void symbol(ptr tile)`, a runtime::GemmMicroFn.
  llvm::Function *emit_gemm(const std::string &symbol, const std::string &cpu,
                            const std::string &features) {
    start_function({b_.getPtrTy()}, symbol, cpu, features);
    Value *tile = &*fn_->arg_begin();
    {
      llvm::IRBuilder<> at(entry_->getTerminator());
      sizes_ = at.CreateLoad(
          b_.getPtrTy(),
          at.CreateConstGEP1_64(b_.getInt8Ty(), tile, offsetof(runtime::GemmTileArgs, sizes)));
    }
    load_args(b_.CreateLoad(
        b_.getPtrTy(),
        b_.CreateConstGEP1_64(b_.getInt8Ty(), tile, offsetof(runtime::GemmTileArgs, args))));
    const std::vector<Stmt> *inner = &k_.body;
    while (inner->size() == 1 && inner->front().kind == Stmt::Kind::For)
      inner = &inner->front().body;
    const size_t last = k_.loops.size() - 1;
    // The epilogue once per vector of the tile: little compile time while the copies stay
    // under KernelChoices::epilogue_unroll_cost instructions (512: W4's bias + gelu, 16
    // copies of ~21).
    const unsigned lanes =
        static_cast<unsigned>(vector_bytes(features) / dtype_size(k_.gemm->dtype));
    const int64_t copies = k_.gemm->tile.mr * k_.gemm->tile.nr / lanes;
    emit_gemm_tile(b_, fn_, entry_, *k_.gemm, lanes, tile,
                   body_cost() * copies <= choices_.epilogue_unroll_cost,
                   [&](Value *row, Value *col, Value *col_end, Value *mask, Value *product) {
                     // The epilogue's row is flat over its row loops: split it into their
                     // variables.
                     for (size_t l = last; l-- > 0;) {
                       if (l == 0) {
                         loop_vars_[0] = row;
                         break;
                       }
                       loop_vars_[l] = b_.CreateURem(row, int_value(k_.loops[l].extent));
                       row = b_.CreateUDiv(row, int_value(k_.loops[l].extent));
                     }
                     loop_vars_[last] = col;
                     width_ = lanes;
                     vector_loop_ = static_cast<int>(last);
                     vector_end_ = col_end;
                     mask_ = mask;
                     product_ = product;
                     emit_block(*inner);
                     width_ = 1;
                     vector_loop_ = -1;
                     mask_ = product_ = vector_end_ = nullptr;
                   });
    b_.CreateRetVoid();
    return fn_;
  }

 private:
  const lower::Kernel &k_;
  const KernelChoices &choices_;
  llvm::LLVMContext &ctx_;
  llvm::Module &m_;
  llvm::IRBuilder<> b_;
  llvm::Function *fn_ = nullptr;
  llvm::BasicBlock *entry_ = nullptr;
  Value *begin_ = nullptr, *end_ = nullptr;
  Value *sizes_ = nullptr;                     // the symbols' sizes, read in the entry block
  std::map<std::string, Value *> sym_values_;  // each symbolic number, computed once
  std::vector<Value *> args_, acc_slots_, vacc_slots_, loop_vars_, scalars_;
  // Accumulators started inside a vector loop (short rows vectorized across rows): one
  // per lane, never folded together.
  std::vector<Value *> lane_slots_;
  unsigned vector_width_ = 16;
  unsigned width_ = 1;           // lanes of the values being emitted now
  int vector_loop_ = -1;         // the loop whose variable is the lane index, while width_ > 1
  Value *mask_ = nullptr;        // lanes in range, in the last (partial) vector iteration
  Value *vector_end_ = nullptr;  // the vector loop's end
  Value *product_ = nullptr;     // a matmul kernel's product, while its epilogue is emitted
  bool streamed_ = false;        // a non-temporal store was emitted

  void start_function(llvm::ArrayRef<llvm::Type *> params, const std::string &symbol,
                      const std::string &cpu, const std::string &features) {
    fn_ = llvm::Function::Create(llvm::FunctionType::get(b_.getVoidTy(), params, false),
                                 llvm::Function::ExternalLinkage, symbol, m_);
    fn_->addFnAttr("target-cpu", cpu);
    fn_->addFnAttr("target-features", features);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    // Rows of scratch make frames of up to 64 KiB: touch each page on the way down rather
    // than jump over a thread's guard page.
    fn_->addFnAttr("probe-stack", "inline-asm");
    // The entry block holds what every path needs once (stack slots, symbolic numbers)
    // and branches to the body.
    entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn_);
    auto *start = llvm::BasicBlock::Create(ctx_, "start", fn_);
    llvm::BranchInst::Create(start, entry_);
    b_.SetInsertPoint(start);
  }

  // A number of the kernel: a constant, or computed from the sizes in the entry block.
  Value *int_value(const ir::SymExpr &e) {
    if (e.is_constant()) return b_.getInt64(e.constant());
    const std::string text = e.text();
    if (auto it = sym_values_.find(text); it != sym_values_.end()) return it->second;
    KILN_CHECK(sizes_ != nullptr, "@{}: symbolic number {} without sizes", k_.name, text);
    llvm::IRBuilder<> at(entry_->getTerminator());
    Value *sum = at.getInt64(e.constant_term());
    for (const ir::SymExpr::Term &t : e.terms()) {
      Value *product = at.getInt64(t.coefficient);
      for (size_t k = 0; k < t.powers.size(); ++k)
        for (int p = 0; p < t.powers[k]; ++p)
          product = at.CreateMul(
              product,
              at.CreateLoad(at.getInt64Ty(), at.CreateConstGEP1_64(at.getInt64Ty(), sizes_, k)));
      sum = at.CreateAdd(sum, product);
    }
    sym_values_[text] = sum;
    return sum;
  }

  // A Size scalar: scale * size or scale / size, computed in f64, as its dtype.
  Value *size_value(const lower::Scalar &s) {
    Value *n = int_value(s.size);
    llvm::IRBuilder<> at(entry_->getTerminator());
    llvm::Type *type = register_type(ctx_, s.dtype);
    if (is_integral(s.dtype)) return at.CreateSExtOrTrunc(n, type);
    Value *d = at.CreateSIToFP(n, at.getDoubleTy());
    Value *scale = llvm::ConstantFP::get(at.getDoubleTy(), s.scale);
    d = s.reciprocal ? at.CreateFDiv(scale, d) : at.CreateFMul(scale, d);
    return at.CreateFPCast(d, type);
  }

  // The runtime's buffers from `args`; rows of scratch on the stack.
  void load_args(Value *args) {
    for (size_t i = 0; i < k_.args.size(); ++i) {
      const lower::KernelArg &a = k_.args[i];
      if (!a.scratch) {
        args_.push_back(
            b_.CreateLoad(b_.getPtrTy(), b_.CreateConstGEP1_64(b_.getPtrTy(), args, i)));
        continue;
      }
      auto *row = b_.CreateAlloca(llvm::ArrayType::get(memory_type(ctx_, a.dtype),
                                                       static_cast<uint64_t>(a.numel.constant())));
      row->setAlignment(llvm::Align(64));
      args_.push_back(row);
    }
    make_alias_scopes();
  }

  // Whether every whole-vector store at `index` starts a 64-byte line, given 64-byte
  // aligned buffers: what a non-temporal vector store requires.
  bool line_aligned(const lower::Index &index, int64_t elem) const {
    if (!index.offset.is_constant() || width_ * elem % 64 != 0 ||
        index.offset.constant() * elem % 64 != 0)
      return false;
    const lower::Loop &loop = k_.loops[static_cast<size_t>(vector_loop_)];
    if (loop.parallel && loop.split * elem % 64 != 0) return false;  // starts at a thread's begin
    for (size_t l = 0; l < index.strides.size(); ++l)
      if (static_cast<int>(l) != vector_loop_ &&
          (!index.strides[l].is_constant() || index.strides[l].constant() * elem % 64 != 0))
        return false;
    return true;
  }

  // One alias scope per buffer: the runtime never passes a kernel an output that overlaps
  // another of its buffers (the memory plan keeps a step's inputs and outputs apart), and
  // saying so lets LLVM keep loads of small invariant inputs (a weight) out of the loops.
  std::vector<llvm::MDNode *> scope_of_, noalias_of_;
  void make_alias_scopes() {
    llvm::MDBuilder md(ctx_);
    llvm::MDNode *domain = md.createAnonymousAliasScopeDomain(k_.name);
    std::vector<llvm::Metadata *> scopes;
    for (size_t i = 0; i < k_.args.size(); ++i)
      scopes.push_back(md.createAnonymousAliasScope(domain, k_.args[i].name));
    for (size_t i = 0; i < k_.args.size(); ++i) {
      std::vector<llvm::Metadata *> others;
      for (size_t j = 0; j < scopes.size(); ++j)
        if (j != i) others.push_back(scopes[j]);
      scope_of_.push_back(llvm::MDNode::get(ctx_, {scopes[i]}));
      noalias_of_.push_back(llvm::MDNode::get(ctx_, others));
    }
  }
  Value *tag(Value *access, int32_t arg) {
    auto *inst = llvm::cast<llvm::Instruction>(access);
    inst->setMetadata(llvm::LLVMContext::MD_alias_scope, scope_of_[arg]);
    inst->setMetadata(llvm::LLVMContext::MD_noalias, noalias_of_[arg]);
    return access;
  }

  Value *entry_alloca(llvm::Type *type) {
    llvm::IRBuilder<> at(entry_, entry_->begin());
    return at.CreateAlloca(type);
  }

  // A scalar's value at the current width (scalars defined outside a vector loop are splat).
  Value *value(int32_t id) {
    Value *v = scalars_[id];
    if (width_ > 1 && !v->getType()->isVectorTy()) return b_.CreateVectorSplat(width_, v);
    return v;
  }

  Value *index_value(const lower::Index &index) {
    Value *at = int_value(index.offset);
    for (size_t l = 0; l < index.strides.size(); ++l) {
      if (index.strides[l] == 0) continue;
      KILN_CHECK(loop_vars_[l] != nullptr, "@{}: index uses loop {} outside it", k_.name, l);
      at = b_.CreateAdd(at, b_.CreateMul(loop_vars_[l], int_value(index.strides[l])));
    }
    return at;
  }

  ir::SymExpr lane_stride(const lower::Index &index) const {
    return width_ > 1 ? index.strides[static_cast<size_t>(vector_loop_)] : 0;
  }

  // Pointers to each lane's element: base + lane * stride.
  Value *lane_pointers(llvm::Type *elem, Value *base_ptr, Value *base, const ir::SymExpr &stride) {
    std::vector<llvm::Constant *> lanes;
    for (unsigned i = 0; i < width_; ++i) lanes.push_back(b_.getInt64(static_cast<int64_t>(i)));
    Value *offsets = b_.CreateMul(llvm::ConstantVector::get(lanes),
                                  b_.CreateVectorSplat(width_, int_value(stride)));
    offsets = b_.CreateAdd(b_.CreateVectorSplat(width_, base), offsets);
    return b_.CreateGEP(elem, base_ptr, offsets);
  }

  // The highest lane of the current vector still inside the vector loop.
  Value *last_lane_in_range() {
    return b_.CreateSub(b_.CreateSub(vector_end_, loop_vars_[vector_loop_]), b_.getInt64(1));
  }

  // A strided vector load that does not depend on the parallel loop (a small matmul's
  // weight read across its rows) as one scalar load per lane: LLVM keeps those out of the
  // parallel loop once the inner loops are unrolled, where it never moves a gather. Lanes
  // past the loop's end read the last lane's element, so every address stays in bounds.
  Value *invariant_lanes(const lower::Scalar &s, llvm::Type *elem, Value *base,
                         const ir::SymExpr &stride) {
    Value *vec = llvm::PoisonValue::get(llvm::FixedVectorType::get(elem, width_));
    Value *last = last_lane_in_range();
    for (unsigned lane = 0; lane < width_; ++lane) {
      Value *in_range =
          b_.CreateIntrinsic(llvm::Intrinsic::smin, {b_.getInt64Ty()}, {b_.getInt64(lane), last});
      Value *at = b_.CreateAdd(base, b_.CreateMul(in_range, int_value(stride)));
      Value *one = tag(b_.CreateLoad(elem, b_.CreateGEP(elem, args_[s.arg], at)), s.arg);
      vec = b_.CreateInsertElement(vec, one, uint64_t{lane});
    }
    return vec;
  }

  Value *load(const lower::Scalar &s) {
    llvm::Type *elem = memory_type(ctx_, s.dtype);
    Value *base = index_value(s.index);
    const ir::SymExpr stride = lane_stride(s.index);
    Value *loaded;
    if (stride == 0) {  // lane 0 is always in range, so its element may be read
      loaded = tag(b_.CreateLoad(elem, b_.CreateGEP(elem, args_[s.arg], base)), s.arg);
    } else if (stride == 1 && mask_ != nullptr) {
      auto *type = llvm::FixedVectorType::get(elem, width_);
      loaded = tag(b_.CreateMaskedLoad(type, b_.CreateGEP(elem, args_[s.arg], base),
                                       llvm::Align(dtype_size(s.dtype)), mask_,
                                       llvm::Constant::getNullValue(type)),
                   s.arg);
    } else if (stride == 1) {
      // Buffers are only element-aligned: a vector access must say so, or LLVM assumes the
      // vector's own alignment and emits aligned moves that fault.
      loaded = tag(b_.CreateAlignedLoad(llvm::FixedVectorType::get(elem, width_),
                                        b_.CreateGEP(elem, args_[s.arg], base),
                                        llvm::Align(dtype_size(s.dtype))),
                   s.arg);
    } else if (s.index.strides[0] == 0 && vector_loop_ != 0) {
      loaded = invariant_lanes(s, elem, base, stride);
    } else {
      auto *type = llvm::FixedVectorType::get(elem, width_);
      loaded = tag(b_.CreateMaskedGather(type, lane_pointers(elem, args_[s.arg], base, stride),
                                         llvm::Align(dtype_size(s.dtype)), mask_),
                   s.arg);
    }
    if (s.dtype == DType::Bool)
      loaded = b_.CreateICmpNE(loaded, llvm::Constant::getNullValue(loaded->getType()));
    return loaded;
  }

  void store(const Stmt &st) {
    const DType dtype = k_.args[st.arg].dtype;
    llvm::Type *elem = memory_type(ctx_, dtype);
    Value *v = value(st.id);
    if (dtype == DType::Bool)
      v = b_.CreateZExt(v, width_ > 1 ? llvm::FixedVectorType::get(elem, width_) : elem);
    Value *base = index_value(st.index);
    const ir::SymExpr stride = lane_stride(st.index);
    const llvm::Align align(dtype_size(dtype));
    Value *at = b_.CreateGEP(elem, args_[st.arg], base);
    if (width_ == 1) {
      tag(b_.CreateStore(v, at), st.arg);
      return;
    }
    if (stride == 0) {  // every lane writes one element: the last lane in range wins
      Value *last = mask_ == nullptr ? b_.getInt64(width_ - 1) : last_lane_in_range();
      tag(b_.CreateStore(b_.CreateExtractElement(v, last), at), st.arg);
    } else if (stride == 1 && mask_ != nullptr) {
      tag(b_.CreateMaskedStore(v, at, align, mask_), st.arg);
    } else if (stride == 1 && k_.args[st.arg].streaming &&
               line_aligned(st.index, dtype_size(dtype))) {
      auto stream = [&] {
        auto *nt = b_.CreateAlignedStore(v, at, llvm::Align(64));
        nt->setMetadata(llvm::LLVMContext::MD_nontemporal,
                        llvm::MDNode::get(ctx_, {llvm::ConstantAsMetadata::get(b_.getInt32(1))}));
        tag(nt, st.arg);
        streamed_ = true;
      };
      const lower::KernelArg &arg = k_.args[st.arg];
      if (arg.numel.is_constant()) return stream();
      // A buffer of symbolic size streams when this call's is big: a loop-invariant branch.
      Value *big =
          b_.CreateICmpSGE(b_.CreateMul(int_value(arg.numel), b_.getInt64(dtype_size(dtype))),
                           b_.getInt64(arg.stream_bytes));
      auto *nt = llvm::BasicBlock::Create(ctx_, "stream", fn_);
      auto *plain = llvm::BasicBlock::Create(ctx_, "store", fn_);
      auto *after = llvm::BasicBlock::Create(ctx_, "stored", fn_);
      b_.CreateCondBr(big, nt, plain);
      b_.SetInsertPoint(nt);
      stream();
      b_.CreateBr(after);
      b_.SetInsertPoint(plain);
      tag(b_.CreateAlignedStore(v, at, align), st.arg);
      b_.CreateBr(after);
      b_.SetInsertPoint(after);
    } else if (stride == 1) {
      tag(b_.CreateAlignedStore(v, at, align), st.arg);
    } else {
      tag(b_.CreateMaskedScatter(v, lane_pointers(elem, args_[st.arg], base, stride), align, mask_),
          st.arg);
    }
  }

  Value *scalar(const lower::Scalar &s) {
    switch (s.kind) {
      case lower::Scalar::Kind::Load: return load(s);
      case lower::Scalar::Kind::Constant:
        if (is_integral(s.dtype))
          return llvm::ConstantInt::getSigned(register_type(ctx_, s.dtype), s.int_value);
        return emit_constant(b_, register_type(ctx_, s.dtype), s.dtype, s.value);
      case lower::Scalar::Kind::Product: return product_;
      case lower::Scalar::Kind::Size: return size_value(s);
      case lower::Scalar::Kind::Acc:
        if (lane_slots_[s.acc] != nullptr)
          return b_.CreateLoad(register_type(ctx_, s.dtype, width_), lane_slots_[s.acc]);
        return b_.CreateLoad(register_type(ctx_, s.dtype), acc_slots_[s.acc]);
      case lower::Scalar::Kind::Op: {
        std::vector<Value *> operands;
        for (int32_t o : s.operands) operands.push_back(value(o));
        const int32_t typed = s.op == OpKind::Where ? s.operands[1] : s.operands[0];
        return emit_op(b_, s.op, s.attrs, operands, k_.scalars[typed].dtype, s.dtype);
      }
    }
    KILN_UNREACHABLE("unknown scalar kind");
  }

  void update(const Stmt &st) {
    const lower::Accumulator &acc = k_.accs[st.id];
    if (Value *lanes = lane_slots_[st.id]) {
      llvm::Type *type = register_type(ctx_, acc.dtype, width_);
      b_.CreateStore(
          emit_combine(b_, acc.combine, acc.dtype, b_.CreateLoad(type, lanes), value(st.value)),
          lanes);
      return;
    }
    Value *slot =
        vacc_slots_[st.id] != nullptr && width_ > 1 ? vacc_slots_[st.id] : acc_slots_[st.id];
    llvm::Type *type = register_type(ctx_, acc.dtype, slot == acc_slots_[st.id] ? 1 : width_);
    Value *x = slot == acc_slots_[st.id] ? scalars_[st.value] : value(st.value);
    Value *old = b_.CreateLoad(type, slot);
    Value *updated = emit_combine(b_, acc.combine, acc.dtype, old, x);
    if (mask_ != nullptr && slot != acc_slots_[st.id])
      updated = b_.CreateSelect(mask_, updated, old);
    b_.CreateStore(updated, slot);
  }

  void emit_block(const std::vector<Stmt> &stmts) {
    for (const Stmt &st : stmts) {
      switch (st.kind) {
        case Stmt::Kind::Let: scalars_[st.id] = scalar(k_.scalars[st.id]); break;
        case Stmt::Kind::Store: store(st); break;
        case Stmt::Kind::AccInit: {
          const lower::Accumulator &acc = k_.accs[st.id];
          if (width_ > 1) {  // inside a vector loop: one accumulator per lane
            llvm::Type *type = register_type(ctx_, acc.dtype, width_);
            lane_slots_[st.id] = entry_alloca(type);
            b_.CreateStore(emit_identity(b_, type, acc.combine, acc.dtype), lane_slots_[st.id]);
            break;
          }
          lane_slots_[st.id] = nullptr;
          b_.CreateStore(emit_identity(b_, register_type(ctx_, acc.dtype), acc.combine, acc.dtype),
                         acc_slots_[st.id]);
          break;
        }
        case Stmt::Kind::AccUpdate: update(st); break;
        case Stmt::Kind::For: emit_for(st); break;
      }
    }
  }

  // for (i = lo; i < hi; i += step) body(i)
  void counted_loop(Value *lo, Value *hi, int64_t step, const std::function<void(Value *)> &body) {
    llvm::BasicBlock *before = b_.GetInsertBlock();
    auto *header = llvm::BasicBlock::Create(ctx_, "loop", fn_);
    auto *inside = llvm::BasicBlock::Create(ctx_, "body", fn_);
    auto *after = llvm::BasicBlock::Create(ctx_, "exit", fn_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode *i = b_.CreatePHI(b_.getInt64Ty(), 2);
    i->addIncoming(lo, before);
    b_.CreateCondBr(b_.CreateICmpSLT(i, hi), inside, after);
    b_.SetInsertPoint(inside);
    body(i);
    i->addIncoming(b_.CreateAdd(i, b_.getInt64(step)), b_.GetInsertBlock());
    b_.CreateBr(header);
    b_.SetInsertPoint(after);
  }

  Value *horizontal(OpKind combine, DType dtype, Value *v) {
    for (unsigned w = width_; w > 1; w /= 2) {
      std::vector<int> low, high;
      for (unsigned i = 0; i < w / 2; ++i) {
        low.push_back(static_cast<int>(i));
        high.push_back(static_cast<int>(i + w / 2));
      }
      v = emit_combine(b_, combine, dtype, b_.CreateShuffleVector(v, low),
                       b_.CreateShuffleVector(v, high));
    }
    return b_.CreateExtractElement(v, uint64_t{0});
  }

  void emit_for(const Stmt &st) {
    const lower::Loop &loop = k_.loops[st.id];
    Value *lo = loop.parallel ? begin_ : b_.getInt64(0);
    Value *hi = loop.parallel ? end_ : int_value(loop.extent);
    auto body = [&](Value *i) {
      loop_vars_[st.id] = i;
      emit_block(st.body);
    };
    // A short loop (a row of 5) gets a vector no wider than itself: masking off most lanes
    // of a wide one, then folding them, costs more than the loop. A symbolic one gets the
    // full width.
    const unsigned lanes_needed = loop.extent.is_constant()
                                      ? static_cast<unsigned>(std::bit_ceil(static_cast<uint64_t>(
                                            std::max<int64_t>(loop.extent.constant(), 1))))
                                      : vector_width_;
    const unsigned width = std::min(vector_width_, lanes_needed);
    if (loop.vector && width > 1) {
      std::vector<int32_t> accs;
      for (const Stmt &inner : st.body)
        if (inner.kind == Stmt::Kind::AccUpdate) accs.push_back(inner.id);
      width_ = width;
      vector_loop_ = st.id;
      vector_end_ = hi;
      for (int32_t a : accs) {
        const lower::Accumulator &acc = k_.accs[a];
        llvm::Type *type = register_type(ctx_, acc.dtype, width_);
        vacc_slots_[a] = entry_alloca(type);
        b_.CreateStore(emit_identity(b_, type, acc.combine, acc.dtype), vacc_slots_[a]);
      }
      // Whole vectors with plain moves, then one masked vector for the lanes left. Masking
      // every iteration (one copy of the body, half the compile time) cost nothing on
      // Sapphire Rapids, but masked moves are slow on Zen 4: measured 2026-12-02, W1 went
      // from 37 to 19 ms and W9-10 from 3.7 to 1.6 ms (1 thread); W9-100 compiles ~1.3x
      // longer.
      Value *whole_end =
          b_.CreateAdd(lo, b_.CreateMul(b_.CreateSDiv(b_.CreateSub(hi, lo), b_.getInt64(width_)),
                                        b_.getInt64(width_)));
      counted_loop(lo, whole_end, width_, body);
      std::vector<llvm::Constant *> lanes;
      for (unsigned i = 0; i < width_; ++i) lanes.push_back(b_.getInt64(i));
      Value *lane_offsets = llvm::ConstantVector::get(lanes);
      auto *tail = llvm::BasicBlock::Create(ctx_, "tail", fn_);
      auto *done = llvm::BasicBlock::Create(ctx_, "tail.done", fn_);
      b_.CreateCondBr(b_.CreateICmpSLT(whole_end, hi), tail, done);
      b_.SetInsertPoint(tail);
      mask_ = b_.CreateICmpSLT(b_.CreateAdd(b_.CreateVectorSplat(width_, whole_end), lane_offsets),
                               b_.CreateVectorSplat(width_, hi));
      body(whole_end);
      mask_ = nullptr;
      b_.CreateBr(done);
      b_.SetInsertPoint(done);
      for (int32_t a : accs) {
        const lower::Accumulator &acc = k_.accs[a];
        llvm::Type *type = register_type(ctx_, acc.dtype, width_);
        Value *lanes_total =
            horizontal(acc.combine, acc.dtype, b_.CreateLoad(type, vacc_slots_[a]));
        llvm::Type *scalar_type = register_type(ctx_, acc.dtype);
        b_.CreateStore(emit_combine(b_, acc.combine, acc.dtype,
                                    b_.CreateLoad(scalar_type, acc_slots_[a]), lanes_total),
                       acc_slots_[a]);
        vacc_slots_[a] = nullptr;
      }
      width_ = 1;
      vector_loop_ = -1;
      loop_vars_[st.id] = nullptr;
      return;
    }
    counted_loop(lo, hi, 1, body);
    loop_vars_[st.id] = nullptr;
  }
};

}  // namespace

llvm::Function *emit_kernel(llvm::Module &m, const lower::Kernel &k, const KernelChoices &choices,
                            const std::string &symbol, const Target &target) {
  return KernelEmitter(m, k, choices).emit(symbol, target.cpu, target.features);
}

}  // namespace kiln::lower::cpu
