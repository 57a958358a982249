// Running a Program, and planning its memory: which slots share arena bytes and when each
// slot's Array can be dropped. A slot read through a view made by an op step stays alive as
// long as that view, since they share storage.
#include "runtime/program.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

#include "ir/diag.h"
#include "runtime/execute.h"
#include "runtime/memory_plan.h"
#include "runtime/thread_pool.h"

namespace kiln::runtime {
namespace {

int64_t bytes_of(const TensorType &t) { return numel(t.shape) * dtype_size(t.dtype); }

// Kernel arguments are contiguous buffers; a view made by an op step may not be.
Array dense(const Array &a) {
  if (a.layout.is_contiguous()) return a;
  Attrs attrs{{"dtype", a.dtype}};
  const Array *in[] = {&a};
  return execute(OpKind::Convert, in, attrs, a.type());
}

Array full_array(const Shape &shape, DType dtype, double value) {
  return execute(OpKind::Full, {}, Attrs{{"value", value}}, TensorType{dtype, shape});
}

}  // namespace

void Plan::lay_out() {
  max_step_args = 0;
  for (const Step &step : steps)
    max_step_args = std::max(
        max_step_args, std::visit(
                           [](const auto &st) {
                             if constexpr (std::is_same_v<std::decay_t<decltype(st)>, KernelStep>)
                               return st.args.size();
                             else
                               return st.operands.size();
                           },
                           step));
  const int32_t end = static_cast<int32_t>(steps.size());
  std::vector<int32_t> first(slots.size(), -1), last(slots.size(), -1), root(slots.size());
  for (size_t s = 0; s < slots.size(); ++s) root[s] = static_cast<int32_t>(s);
  for (int32_t step = 0; step < end; ++step) {
    std::visit(
        [&](const auto &st) {
          using T = std::decay_t<decltype(st)>;
          if constexpr (std::is_same_v<T, KernelStep>) {
            if (st.gemm)
              for (int32_t o : {st.gemm->a, st.gemm->b})
                last[root[o]] = std::max(last[root[o]], step);
            for (size_t i = 0; i < st.args.size(); ++i) {
              int32_t r = root[st.args[i]];
              if (i >= st.num_inputs && first[st.args[i]] < 0) first[st.args[i]] = step;
              last[r] = std::max(last[r], step);
            }
          } else {
            for (int32_t o : st.operands) last[root[o]] = std::max(last[root[o]], step);
            first[st.out] = step;
            // A movement op may return a view of its operand: both live as one.
            if (op_info(st.op).category == OpCategory::Movement)
              root[st.out] = root[st.operands[0]];
          }
        },
        steps[step]);
  }
  for (int32_t o : outputs) last[root[o]] = end;
  for (int32_t i : inputs) last[root[i]] = end;  // the caller's memory, never released early
  std::vector<BufferLife> lives;
  std::vector<int32_t> arena_slots;
  for (size_t s = 0; s < slots.size(); ++s)
    if (slots[s].place == Slot::Place::Arena) {
      lives.push_back({bytes_of(slots[s].type), first[s], last[s]});
      arena_slots.push_back(static_cast<int32_t>(s));
    }
  MemoryPlan mp = plan_memory(lives);
  for (size_t i = 0; i < arena_slots.size(); ++i)
    slots[arena_slots[i]].arena_offset = mp.offsets[i];
  arena_bytes = mp.arena_bytes;
  unshared_bytes = mp.unshared_bytes;
  release_after.assign(steps.size(), {});
  for (size_t s = 0; s < slots.size(); ++s)
    if (last[root[s]] >= 0 && last[root[s]] < end)
      release_after[last[root[s]]].push_back(static_cast<int32_t>(s));
}

int64_t Plan::peak_bytes() const {
  int64_t total = arena_bytes, gemm_scratch = 0;  // a GEMM's scratch lives for its step only
  for (const Slot &s : slots)
    if (s.place == Slot::Place::Fresh || s.place == Slot::Place::ByOp) total += bytes_of(s.type);
  for (const Step &step : steps)
    if (const auto *k = std::get_if<KernelStep>(&step); k != nullptr && k->gemm)
      gemm_scratch = std::max(
          gemm_scratch,
          gemm_scratch_bytes(*k->gemm, slots[k->gemm->a].type.shape, slots[k->gemm->b].type.shape));
  return total + gemm_scratch;
}

int32_t Plan::num_kernels() const {
  int32_t n = 0;
  for (const Step &step : steps)
    if (const auto *k = std::get_if<KernelStep>(&step)) n = std::max(n, k->code_index + 1);
  return n;
}

Program::Program(Plan plan, std::shared_ptr<const KernelCode> code, std::string name)
    : plan_(std::move(plan)), code_(std::move(code)), name_(std::move(name)) {
  KILN_CHECK(code_ != nullptr || plan_.num_kernels() == 0, "a program with kernels needs code");
}

const std::vector<profile::StepInfo> &Program::step_infos() const {
  std::call_once(step_infos_once_, [this] {
    auto bytes_of = [&](int32_t slot) {
      const TensorType &t = plan_.slots[slot].type;
      return numel(t.shape) * dtype_size(t.dtype);
    };
    // 2 * (C's elements) * depth: a GEMM's multiply-adds, whatever its batch.
    auto gemm_flops = [&](int32_t a, int32_t c) {
      const Shape &as = plan_.slots[a].type.shape;
      return as.empty() ? 0.0
                        : 2.0 * static_cast<double>(numel(plan_.slots[c].type.shape)) *
                              static_cast<double>(as.back());
    };
    const std::string function = name_.empty() ? "program" : name_;
    static std::atomic<int64_t> programs{0};
    const int64_t serial = programs.fetch_add(1);
    for (size_t i = 0; i < plan_.steps.size(); ++i) {
      profile::StepInfo info{
          .function = function, .program = serial, .index = static_cast<int64_t>(i)};
      if (const auto *k = std::get_if<KernelStep>(&plan_.steps[i])) {
        info.name = k->name;
        info.kind = k->gemm ? "gemm" : "kernel";
        for (int32_t a : k->args) info.bytes += bytes_of(a);
        if (k->gemm) {
          info.bytes += bytes_of(k->gemm->a) + bytes_of(k->gemm->b);
          if (k->num_inputs < k->args.size())
            info.flops = gemm_flops(k->gemm->a, k->args[k->num_inputs]);
        }
      } else {
        const auto &op = std::get<OpStep>(plan_.steps[i]);
        info.name = fmt::format("{} {}#{}", function, op_name(op.op), i);
        info.kind = std::string(op_name(op.op));
        // Views move no bytes (a reshape counts as one, though it copies when strides cannot
        // express it); cat and every other op read their operands and write their result.
        if (op_info(op.op).category != OpCategory::Movement || op.op == OpKind::Cat) {
          for (int32_t o : op.operands) info.bytes += bytes_of(o);
          info.bytes += bytes_of(op.out);
        }
        if (op.op == OpKind::Matmul && !op.operands.empty())
          info.flops = gemm_flops(op.operands[0], op.out);
      }
      step_infos_.push_back(std::move(info));
    }
  });
  return step_infos_;
}

std::vector<Array> Program::run(std::span<const Array *const> in, const RandomDraw *draw) const {
  const auto &[slots, inputs, outputs, steps, release_after, arena_bytes, unshared_bytes,
               max_step_args, sizes_of_symbols] = plan_;
  KILN_CHECK(in.size() == inputs.size(), "program takes {} inputs, got {}", inputs.size(),
             in.size());
  std::vector<Array> values(slots.size());
  std::vector<const Array *> at(slots.size(), nullptr);  // the caller's arrays or values[s]
  for (size_t i = 0; i < in.size(); ++i) at[inputs[i]] = in[i];
  Storage arena = arena_bytes > 0 ? Storage::allocate(static_cast<size_t>(arena_bytes)) : Storage();
  std::vector<void *> pointers;
  std::vector<const Array *> operands;
  pointers.reserve(max_step_args);
  operands.reserve(max_step_args);
  const bool profiling = profile::on();  // the only cost of the profile when it is off
  const int64_t call_begin = profiling ? profile::now_ns() : 0;
  const std::vector<profile::StepInfo> *infos = profiling ? &step_infos() : nullptr;
  for (size_t step = 0; step < steps.size(); ++step) {
    const int64_t step_begin = profiling ? profile::now_ns() : 0;
    if (profiling) profile::set_current_step(&(*infos)[step].name);
    if (const auto *k = std::get_if<KernelStep>(&steps[step])) {
      const int64_t *sizes = symbol_sizes(*k);
      pointers.clear();
      for (size_t i = 0; i < k->args.size(); ++i) {
        const int32_t s = k->args[i];
        if (i >= k->num_inputs && at[s] == nullptr) {
          const Slot &slot = slots[s];
          if (slot.place == Slot::Place::Arena) {
            values[s] = Array{arena, slot.type.dtype, ir::Layout::contiguous(slot.type.shape)};
            values[s].layout.offset = slot.arena_offset / dtype_size(slot.type.dtype);
          } else {
            values[s] = empty_array(slot.type.shape, slot.type.dtype);
          }
          at[s] = &values[s];
        } else if (i < k->num_inputs && !at[s]->layout.is_contiguous()) {
          values[s] = dense(*at[s]);
          at[s] = &values[s];
        }
        const Array &a = *at[s];
        pointers.push_back(a.storage.data() + a.layout.offset * dtype_size(a.dtype));
      }
      if (k->gemm) {
        const Array &a = *at[k->gemm->a], &b = *at[k->gemm->b];
        const View va = make_view(a.storage.data(), a.dtype, a.layout),
                   vb = make_view(b.storage.data(), b.dtype, b.layout);
        code_->launch(*k, sizes, pointers.data(), &va, &vb);
      } else {
        code_->launch(*k, sizes, pointers.data(), nullptr, nullptr);
      }
    } else {
      const auto &op = std::get<OpStep>(steps[step]);
      operands.clear();
      for (int32_t o : op.operands) operands.push_back(at[o]);
      if (draw != nullptr && draws_random(op.op)) {
        Attrs placed = op.attrs;
        placed.set("seed", static_cast<int64_t>(draw->seed));
        placed.set("offset", static_cast<int64_t>(
                                 draw->offset + static_cast<uint64_t>(op.attrs.get_int("offset"))));
        values[op.out] = execute(op.op, operands, placed, op.result);
      } else {
        values[op.out] = execute(op.op, operands, op.attrs, op.result);
      }
      at[op.out] = &values[op.out];
    }
    if (profiling) {
      profile::set_current_step(nullptr);
      profile::record_step((*infos)[step], step_begin, profile::now_ns());
    }
    for (int32_t s : release_after[step]) {
      values[s] = Array{};
      at[s] = nullptr;
    }
  }
  std::vector<Array> result;
  result.reserve(outputs.size());
  for (int32_t o : outputs) result.push_back(*at[o]);
  if (profiling)
    profile::record_call(name_.empty() ? "program" : name_, call_begin, profile::now_ns());
  return result;
}

std::vector<Array> Program::step_buffers(size_t step, double fill) const {
  KILN_CHECK(step < plan_.steps.size(), "step {} of a program of {} steps", step,
             plan_.steps.size());
  const auto *k = std::get_if<KernelStep>(&plan_.steps[step]);
  if (k == nullptr) fail("step {} is not a kernel step: only kernels run alone", step);
  std::vector<int32_t> slots = k->args;
  if (k->gemm) slots.insert(slots.end(), {k->gemm->a, k->gemm->b});
  std::vector<Array> out;
  for (size_t i = 0; i < slots.size(); ++i) {
    const TensorType &t = plan_.slots[slots[i]].type;
    const bool input = i < k->num_inputs || i >= k->args.size();
    out.push_back(input ? full_array(t.shape, t.dtype, fill) : empty_array(t.shape, t.dtype));
  }
  return out;
}

void Program::run_step(size_t step, std::span<const Array> buffers) const {
  KILN_CHECK(step < plan_.steps.size(), "step {} of a program of {} steps", step,
             plan_.steps.size());
  const auto *k = std::get_if<KernelStep>(&plan_.steps[step]);
  if (k == nullptr) fail("step {} is not a kernel step: only kernels run alone", step);
  const size_t want = k->args.size() + (k->gemm ? 2 : 0);
  if (buffers.size() != want)
    fail("kernel step {} ('{}') takes {} buffers, got {}", step, k->name, want, buffers.size());
  std::vector<void *> pointers;
  for (size_t i = 0; i < k->args.size(); ++i) {
    const Array &a = buffers[i];
    const TensorType &t = plan_.slots[k->args[i]].type;
    if (a.type() != t || !a.layout.is_contiguous())
      fail("kernel step {} ('{}') buffer {}: expected a contiguous {}, got {}", step, k->name, i,
           t.str(), a.type().str());
    pointers.push_back(a.storage.data() + a.layout.offset * dtype_size(a.dtype));
  }
  const int64_t *sizes = symbol_sizes(*k);
  if (!k->gemm) return code_->launch(*k, sizes, pointers.data(), nullptr, nullptr);
  const Array &a = buffers[k->args.size()], &b = buffers[k->args.size() + 1];
  for (const auto &[buffer, slot, which] :
       {std::tuple{&a, k->gemm->a, "A"}, std::tuple{&b, k->gemm->b, "B"}})
    if (buffer->type() != plan_.slots[slot].type)
      fail("kernel step {} ('{}') GEMM operand {}: expected {}, got {}", step, k->name, which,
           plan_.slots[slot].type.str(), buffer->type().str());
  const View va = make_view(a.storage.data(), a.dtype, a.layout),
             vb = make_view(b.storage.data(), b.dtype, b.layout);
  code_->launch(*k, sizes, pointers.data(), &va, &vb);
}

const int64_t *Program::symbol_sizes(const KernelStep &k) const {
  KILN_CHECK(!k.symbolic || !plan_.sizes.empty(),
             "kernel step '{}' is symbolic, but the program has no sizes (run a resized copy)",
             k.name);
  return plan_.sizes.data();
}

}  // namespace kiln::runtime
