// Group → kernel IR in two steps: collect the strides of every access over the iteration
// shape and merge loops where all of them allow it; then emit the loop tree, computing each
// member where it is needed (element values are recomputed in each pass that reads them
// rather than stored, which costs arithmetic but no memory traffic).
#include "lowering/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "ir/diag.h"
#include "ir/layout.h"
#include "ir/movement_view.h"
#include "ir/printer.h"

namespace kiln::lower {
namespace {

using ir::ValueId;
using lower::Group;
using lower::Index;
using lower::Kernel;
using lower::Role;
using lower::Scalar;
using lower::Stmt;
using lower::ViewChain;

struct LoopDims {
  std::vector<size_t> dims;  // iteration dims, outer to inner
  int64_t extent;
  bool inner;  // a reduced dim of a row group
};

class Scheduler {
 public:
  Scheduler(const ir::Graph &g, const GraphIndex &index, const Group &group, std::string name,
            const ScheduleOptions &options)
      : g_(g), group_(group), options_(options), producer_(index.producer), names_(index.names) {
    k_.name = std::move(name);
    for (size_t i = 0; i < group.members.size(); ++i)
      role_of_[g.nodes[group.members[i]].result] = group.roles[i];
    // A matmul's operands are read by the GEMM driver, not by the kernel's loads.
    const size_t first_input = group.kind == lower::GroupKind::Matmul ? 2 : 0;
    for (size_t i = first_input; i < group.inputs.size(); ++i) add_arg(group.inputs[i], false);
    for (ValueId v : group.outputs) add_arg(v, true);
  }

  Kernel run() {
    if (group_.kind == lower::GroupKind::Matmul) {
      plan_epilogue_loops();
      build_epilogue();
      return std::move(k_);
    }
    plan_loops();
    if (group_.kind == lower::GroupKind::Row)
      build_row();
    else
      build_pointwise();
    mark_streaming();
    return std::move(k_);
  }

 private:
  const ir::Graph &g_;
  const Group &group_;
  ScheduleOptions options_;
  const std::vector<int32_t> &producer_;
  const std::vector<std::string> &names_;
  // member value -> its Role; a map, not a vector over the graph's values, so that
  // scheduling every kernel of a long graph stays linear in its size
  std::unordered_map<ValueId, Role> role_of_;
  std::map<ValueId, int32_t> arg_of_;
  Kernel k_;
  std::vector<LoopDims> loops_;
  std::vector<Stmt> *row_block_ = nullptr;   // a row kernel's per-row statements, while inner
                                             // loops are being built
  std::map<int32_t, int32_t> reciprocal_;    // row scalar -> its reciprocal
  using Cache = std::map<ValueId, int32_t>;  // value -> scalar defined in the current block

  // Outputs this kernel never reads back and that are too big to stay in cache.
  void mark_streaming() {
    std::vector<bool> loaded(k_.args.size(), false);
    for (const Scalar &s : k_.scalars)
      if (s.kind == Scalar::Kind::Load) loaded[static_cast<size_t>(s.arg)] = true;
    for (size_t a = 0; a < k_.args.size(); ++a) {
      lower::KernelArg &arg = k_.args[a];
      const bool may = options_.schedule.streaming && options_.kernel.streaming && arg.written &&
                       !arg.scratch && !loaded[a];
      arg.stream_bytes = may ? options_.schedule.streaming_bytes : 0;
      arg.streaming = may && arg.numel.constant() * dtype_size(arg.dtype) >= arg.stream_bytes;
    }
  }

  bool is_member(ValueId v) const { return role_of_.contains(v); }
  int64_t row_length() const {
    int64_t n = 1;
    for (int64_t d : group_.reduce_dims) n *= group_.shape[static_cast<size_t>(d)];
    return n;
  }
  Role role(ValueId v) const {
    const auto it = role_of_.find(v);
    KILN_CHECK(it != role_of_.end(), "@{}: %{} is not a member of kernel {}", g_.name, names_[v],
               k_.name);
    return it->second;
  }
  bool reduced(size_t d) const {
    return std::binary_search(group_.reduce_dims.begin(), group_.reduce_dims.end(),
                              static_cast<int64_t>(d));
  }
  const ir::Node &node_of(ValueId v) const { return g_.nodes[producer_[v]]; }

  void add_arg(ValueId v, bool written) {
    arg_of_[v] = static_cast<int32_t>(k_.args.size());
    k_.args.push_back({names_[v], g_.type(v).dtype, numel(g_.type(v).shape), written});
  }

  // Strides over the iteration shape of a value of shape `shape` laid out as `layout`: a
  // per-row value has stride 0 along the reduced dims.
  std::vector<int64_t> iteration_strides(const Shape &shape, const Shape &strides) const {
    if (shape == group_.shape) return strides;
    std::vector<int64_t> out(group_.shape.size(), 0);
    const bool keepdim = shape.size() == group_.shape.size();
    size_t at = 0;
    for (size_t d = 0; d < group_.shape.size(); ++d) {
      if (reduced(d)) {
        at += keepdim ? 1 : 0;
        continue;
      }
      out[d] = strides[at++];
    }
    return out;
  }

  // The layout of an operand read from a buffer through its views.
  ir::Layout layout_of(const ViewChain &chain) const {
    ir::Layout l = ir::Layout::contiguous(g_.type(chain.root).shape);
    for (auto it = chain.views.rbegin(); it != chain.views.rend(); ++it) {
      const ir::Node &view = g_.nodes[*it];
      std::optional<ir::Layout> next = ir::movement_view(view.op, l, view.attrs);
      KILN_CHECK(next, "@{}: {} inside a kernel must be a view", g_.name, op_name(view.op));
      l = std::move(*next);
    }
    return l;
  }

  // How operand `o` of a member is read, as fusion decided it.
  enum class Read { Member, Buffer, Constant };
  Read classify(const ViewChain &chain) const {
    if (chain.constant) return Read::Constant;
    if (is_member(chain.root)) return Read::Member;
    return Read::Buffer;
  }

  std::vector<std::vector<int64_t>> all_access_strides(bool reads_only = false) const {
    std::vector<std::vector<int64_t>> out;
    for (int32_t m : group_.members)
      for (ValueId o : g_.nodes[m].operands) {
        if (group_.kind == lower::GroupKind::Matmul &&
            (m == group_.members[0] || role(g_.nodes[m].result) == Role::Prologue))
          break;  // read by the GEMM driver
        ViewChain chain = lower::resolve_views(g_, producer_, o);
        if (classify(chain) != Read::Buffer) continue;
        ir::Layout l = layout_of(chain);
        out.push_back(iteration_strides(g_.type(o).shape, l.strides));
      }
    if (reads_only) return out;
    for (ValueId v : group_.outputs)
      out.push_back(iteration_strides(g_.type(v).shape, contiguous_strides(g_.type(v).shape)));
    return out;
  }

  // Whether the row kernel reduces columns: every buffer it reads steps by one element along
  // the innermost kept loop and not along the innermost reduced one (a bias gradient, the sum
  // over dim 0 of [512,4096]). Vectorized along its rows it would gather, one element per
  // lane from rows 16 KiB apart: W10's took 5.3 ms for 8 MiB.
  bool reduces_columns(size_t last_kept) const {
    if (loops_[last_kept].dims.empty() || loops_.back().dims.empty()) return false;
    const size_t kept = loops_[last_kept].dims.back(), along = loops_.back().dims.back();
    const auto reads = all_access_strides(true);
    return !reads.empty() && std::all_of(reads.begin(), reads.end(), [&](const auto &s) {
      return s[kept] == 1 && s[along] != 1;
    });
  }

  // Dim d (not of size 1) as the next loop, or merged into the last one when it is of the
  // same kind and every access steps through the two as through one dim.
  void add_dim(size_t d, bool inner, const std::vector<std::vector<int64_t>> &strides) {
    if (group_.shape[d] == 1) return;
    if (!loops_.empty() && loops_.back().inner == inner) {
      const size_t prev = loops_.back().dims.back();
      bool mergeable = true;
      for (const auto &s : strides) mergeable &= s[prev] == s[d] * group_.shape[d];
      if (mergeable) {
        loops_.back().dims.push_back(d);
        loops_.back().extent *= group_.shape[d];
        return;
      }
    }
    loops_.push_back({{d}, group_.shape[d], inner});
  }

  // Kept dims then reduced dims, size-1 dims dropped, neighbours merged where every access
  // steps through them as through one dim.
  void plan_loops() {
    const auto strides = all_access_strides();
    std::vector<size_t> order;
    for (size_t d = 0; d < group_.shape.size(); ++d)
      if (!reduced(d)) order.push_back(d);
    for (int64_t d : group_.reduce_dims) order.push_back(static_cast<size_t>(d));
    for (size_t d : order) add_dim(d, reduced(d), strides);
    // Every kernel has one outer loop (the parallel one) and a row kernel one inner loop.
    if (loops_.empty() || loops_.front().inner) loops_.insert(loops_.begin(), {{}, 1, false});
    if (group_.kind == lower::GroupKind::Row && !loops_.back().inner)
      loops_.push_back({{}, 1, true});
    for (size_t l = 0; l < loops_.size(); ++l) {
      const bool innermost = l + 1 == loops_.size() || (loops_[l + 1].inner && !loops_[l].inner);
      k_.loops.push_back({loops_[l].extent, l == 0, innermost});
    }
    // A flat pointwise loop is split between threads at whole lines, so its outputs can
    // be streamed from every thread's first vector on.
    if (k_.loops.size() == 1 && group_.kind == lower::GroupKind::Pointwise)
      k_.loops[0].split = options_.schedule.line_split;
    if (group_.kind != lower::GroupKind::Row) return;
    // Vectorize the innermost reduced loop, or, for rows too short to fill a vector (a small
    // matmul's dot products of 5), the innermost kept loop: lanes then hold neighbouring
    // rows, each with its own accumulator, and the reduction runs as a scalar loop inside.
    size_t last_kept = 0;
    while (last_kept + 1 < loops_.size() && !loops_[last_kept + 1].inner) ++last_kept;
    const bool across_rows =
        (row_length() <= options_.schedule.across_rows || reduces_columns(last_kept)) &&
        loops_[last_kept].extent >= 8;
    for (size_t l = 0; l < loops_.size(); ++l)
      k_.loops[l].vector = across_rows ? l == last_kept : l + 1 == loops_.size();
  }

  // A matmul's epilogue: C's rows (every dim but the last, merged where every access
  // allows) then its columns, which the micro-kernel walks a vector at a time.
  void plan_epilogue_loops() {
    const auto strides = all_access_strides();
    const size_t last = group_.shape.size() - 1;
    for (size_t d = 0; d < last; ++d) add_dim(d, false, strides);
    if (loops_.empty()) loops_.push_back({{}, 1, false});
    loops_.push_back({{last}, group_.shape[last], false});
    for (size_t l = 0; l < loops_.size(); ++l)
      k_.loops.push_back({loops_[l].extent, l == 0, l + 1 == loops_.size()});
  }

  void build_epilogue() {
    const ir::Node &mm = g_.nodes[group_.members[0]];
    const DType dtype = g_.type(mm.result).dtype;
    const ValueId a = group_.inputs[0], b = group_.inputs[1];  // a cast operand's source
    k_.gemm = lower::Gemm{
        .a = names_[a],
        .b = names_[b],
        .dtype = dtype,
        .a_dtype = g_.type(a).dtype,
        .b_dtype = g_.type(b).dtype,
        .a_shape = {g_.type(a).shape.begin(), g_.type(a).shape.end()},
        .b_shape = {g_.type(b).shape.begin(), g_.type(b).shape.end()},
        .tile = options_.kernel.gemm_tile.value_or(gemm_tile(dtype, options_.vector_bytes))};
    std::vector<Stmt> body;
    Cache local;
    local[mm.result] = add_scalar({.kind = Scalar::Kind::Product, .dtype = dtype}, body);
    if (is_output(mm.result)) store(mm.result, local[mm.result], body);
    for (size_t i = 1; i < group_.members.size(); ++i) {
      const int32_t m = group_.members[i];
      if (group_.roles[i] == Role::Prologue) continue;  // done by packing
      int32_t s = compute(m, body, local, {});
      if (is_output(g_.nodes[m].result)) store(g_.nodes[m].result, s, body);
    }
    k_.body = nest(0, loops_.size(), std::move(body));
  }

  Index index_of(const std::vector<int64_t> &strides, int64_t offset) const {
    Index index{offset, std::vector<ir::SymExpr>(loops_.size(), 0)};
    for (size_t l = 0; l < loops_.size(); ++l)
      if (!loops_[l].dims.empty()) index.strides[l] = strides[loops_[l].dims.back()];
    return index;
  }

  int32_t add_scalar(Scalar s, std::vector<Stmt> &block) {
    k_.scalars.push_back(std::move(s));
    int32_t id = static_cast<int32_t>(k_.scalars.size() - 1);
    block.push_back({.kind = Stmt::Kind::Let, .id = id});
    return id;
  }

  int32_t convert(int32_t s, DType to, std::vector<Stmt> &block) {
    if (k_.scalars[s].dtype == to) return s;
    Scalar c{.kind = Scalar::Kind::Op, .dtype = to, .op = OpKind::Convert, .operands = {s}};
    c.attrs.set("dtype", to);
    return add_scalar(std::move(c), block);
  }

  // The scalar for operand `o`, defining loads and constants in `block` on first use.
  int32_t operand(ValueId o, std::vector<Stmt> &block, Cache &local, const Cache &outer) {
    ViewChain chain = lower::resolve_views(g_, producer_, o);
    const Read read = classify(chain);
    const ValueId key = read == Read::Member ? chain.root : o;
    if (auto it = local.find(key); it != local.end()) return it->second;
    if (auto it = outer.find(key); it != outer.end()) return it->second;
    KILN_CHECK(read != Read::Member, "@{}: member %{} used before it is computed", g_.name,
               names_[chain.root]);
    int32_t id;
    if (read == Read::Constant) {
      const ir::Node &full = node_of(chain.root);
      const AttrValue *value = full.attrs.find("value");
      double v = 0.0;
      if (value != nullptr && std::holds_alternative<bool>(*value))
        v = std::get<bool>(*value);
      else if (value != nullptr)
        v = full.attrs.get_double("value");
      Scalar c{.kind = Scalar::Kind::Constant, .dtype = g_.type(o).dtype, .value = v};
      if (value != nullptr && std::holds_alternative<int64_t>(*value))
        c.int_value = std::get<int64_t>(*value);
      else if (v == v)
        c.int_value = static_cast<int64_t>(std::clamp(v, -9.2e18, 9.2e18));
      id = add_scalar(std::move(c), block);
    } else {
      ir::Layout l = layout_of(chain);
      id = add_scalar({.kind = Scalar::Kind::Load,
                       .dtype = g_.type(o).dtype,
                       .arg = arg_of_.at(chain.root),
                       .index = index_of(iteration_strides(g_.type(o).shape, l.strides), l.offset)},
                      block);
    }
    local[key] = id;
    return id;
  }

  int32_t compute(int32_t n, std::vector<Stmt> &block, Cache &local, const Cache &outer) {
    const ir::Node &node = g_.nodes[n];
    Scalar s{.kind = Scalar::Kind::Op,
             .dtype = g_.type(node.result).dtype,
             .op = node.op,
             .attrs = node.attrs};
    for (ValueId o : node.operands) s.operands.push_back(operand(o, block, local, outer));
    // Dividing by a value that is fixed for the row (softmax's sum): one reciprocal per row
    // and a multiply per element, as the eager softmax does; a divide costs ten multiplies.
    if (node.op == OpKind::Div && row_block_ != nullptr && is_floating(s.dtype) &&
        defined_outside(s.operands[1], local)) {
      auto [it, fresh] = reciprocal_.try_emplace(s.operands[1], -1);
      if (fresh)
        it->second = add_scalar({.kind = Scalar::Kind::Op,
                                 .dtype = s.dtype,
                                 .op = OpKind::Reciprocal,
                                 .operands = {s.operands[1]}},
                                *row_block_);
      s.op = OpKind::Mul;
      s.operands[1] = it->second;
    }
    int32_t id = add_scalar(std::move(s), block);
    local[node.result] = id;
    return id;
  }

  // Whether scalar `id` comes from the enclosing row block rather than this loop body.
  bool defined_outside(int32_t id, const Cache &local) const {
    for (const auto &[value, scalar] : local)
      if (scalar == id) return false;
    return true;
  }

  void store(ValueId v, int32_t scalar, std::vector<Stmt> &block) {
    block.push_back(
        {.kind = Stmt::Kind::Store, .id = scalar, .arg = arg_of_.at(v), .index = output_index(v)});
  }

  bool is_output(ValueId v) const {
    return std::find(group_.outputs.begin(), group_.outputs.end(), v) != group_.outputs.end();
  }

  // Wraps loops [first, last) around `body`, returning the outermost statement list.
  std::vector<Stmt> nest(size_t first, size_t last, std::vector<Stmt> body) const {
    for (size_t l = last; l-- > first;) {
      Stmt loop{.kind = Stmt::Kind::For, .id = static_cast<int32_t>(l)};
      loop.body = std::move(body);
      body = {std::move(loop)};
    }
    return body;
  }

  void build_pointwise() {
    std::vector<Stmt> body;
    Cache local;
    for (int32_t m : group_.members) {
      int32_t s = compute(m, body, local, {});
      if (is_output(g_.nodes[m].result)) store(g_.nodes[m].result, s, body);
    }
    k_.body = nest(0, loops_.size(), std::move(body));
  }

  // An element value computed in an early pass and needed again in a later one, kept
  // instead of being recomputed: softmax's exp(x - max), stored in the sum pass and divided
  // in the last. Only worth it for values that cost more than a load (a transcendental
  // somewhere in what they compute). A short row keeps it in a row of scratch, which stays
  // in L1 and leaves the output written once (streaming); a long one in the output itself.
  struct Staged {
    ValueId value, output;
    int store_pass, load_pass;
    int32_t arg = -1;  // where it is kept: a scratch row or the output
    lower::Index index;
  };

  bool expensive(ValueId v) const {
    std::vector<ValueId> pending = {v};
    std::set<ValueId> seen;
    while (!pending.empty()) {
      ValueId at = pending.back();
      pending.pop_back();
      if (!is_member(at) || role(at) != Role::Element || !seen.insert(at).second) continue;
      switch (node_of(at).op) {
        case OpKind::Exp:
        case OpKind::Log:
        case OpKind::Log1p:
        case OpKind::Expm1:
        case OpKind::Sin:
        case OpKind::Cos:
        case OpKind::Tanh:
        case OpKind::Sigmoid:
        case OpKind::Erf:
        case OpKind::Pow:
        case OpKind::Gelu:
        case OpKind::Silu: return true;
        default: break;
      }
      for (ValueId o : node_of(at).operands)
        pending.push_back(lower::resolve_views(g_, producer_, o).root);
    }
    return false;
  }

  std::vector<Staged> choose_staging(const std::vector<std::set<ValueId>> &needed,
                                     const std::map<ValueId, int> &level) const {
    std::vector<Staged> staged;
    auto is_staged = [&](ValueId v) {
      return std::any_of(staged.begin(), staged.end(),
                         [&](const Staged &st) { return st.value == v; });
    };
    for (ValueId out : group_.outputs) {
      if (role(out) != Role::Element || level.at(out) == 0) continue;
      const int q = level.at(out);
      for (auto it = needed[static_cast<size_t>(q)].rbegin();
           it != needed[static_cast<size_t>(q)].rend(); ++it) {
        const ValueId v = *it;  // latest first: staging it saves the most recomputation
        // One row per value: a second copy would be stored in a pass that loads the first.
        if (v == out || g_.type(v).dtype != g_.type(out).dtype || is_staged(v) || !expensive(v))
          continue;
        int p = q - 1;
        while (p >= 0 && !needed[static_cast<size_t>(p)].count(v)) --p;
        if (p < 0) continue;
        staged.push_back({v, out, p, q});
        break;
      }
    }
    return staged;
  }

  // An element's place in a row of scratch: contiguous over the row's inner loops.
  lower::Index row_index(size_t first_inner) const {
    lower::Index index{0, std::vector<ir::SymExpr>(loops_.size(), 0)};
    int64_t stride = 1;
    for (size_t l = loops_.size(); l-- > first_inner;) {
      index.strides[l] = stride;
      stride *= loops_[l].extent;
    }
    return index;
  }

  lower::Index output_index(ValueId v) const {
    const Shape &shape = g_.type(v).shape;
    return index_of(iteration_strides(shape, contiguous_strides(shape)), 0);
  }

  void build_row();
};

void Scheduler::build_row() {
  const size_t first_inner = static_cast<size_t>(
      std::find_if(loops_.begin(), loops_.end(), [](const LoopDims &l) { return l.inner; }) -
      loops_.begin());
  // Pass numbers: an element value can be computed in pass p once every row value it reads
  // is known; a row value is known after the pass of the reductions it reads.
  std::map<ValueId, int> level;  // element values: first pass; row values: passes before known
  int passes = 1;
  for (int32_t m : group_.members) {
    const ir::Node &node = g_.nodes[m];
    int l = 0;
    for (ValueId o : node.operands) {
      ViewChain chain = lower::resolve_views(g_, producer_, o);
      if (classify(chain) == Read::Member) l = std::max(l, level.at(chain.root));
    }
    const bool reduction = op_info(node.op).category == OpCategory::Reduce;
    level[node.result] = reduction ? l + 1 : l;
    if (role(node.result) == Role::Element && is_output(node.result))
      passes = std::max(passes, l + 1);
    if (reduction) passes = std::max(passes, l + 1);
  }

  std::vector<std::vector<int32_t>> reductions(static_cast<size_t>(passes));
  for (int32_t m : group_.members)
    if (op_info(g_.nodes[m].op).category == OpCategory::Reduce)
      reductions[static_cast<size_t>(level.at(g_.nodes[m].result) - 1)].push_back(m);
  // Element values each pass needs: its reductions' inputs and the outputs it stores, with
  // the element values they read.
  auto closure = [&](int pass, const std::set<ValueId> &available) {
    std::set<ValueId> needed;
    std::vector<ValueId> pending;
    for (int32_t r : reductions[static_cast<size_t>(pass)])
      pending.push_back(g_.nodes[r].operands[0]);
    for (int32_t m : group_.members) {
      ValueId v = g_.nodes[m].result;
      if (role(v) == Role::Element && is_output(v) && level.at(v) == pass) pending.push_back(v);
    }
    while (!pending.empty()) {
      ValueId v = pending.back();
      pending.pop_back();
      if (!is_member(v) || role(v) != Role::Element || !needed.insert(v).second) continue;
      if (available.count(v)) continue;
      for (ValueId o : node_of(v).operands)
        pending.push_back(lower::resolve_views(g_, producer_, o).root);
    }
    return needed;
  };
  std::vector<std::set<ValueId>> needed;
  for (int pass = 0; pass < passes; ++pass) needed.push_back(closure(pass, {}));
  std::vector<Staged> staged = choose_staging(needed, level);
  // Each pass computes what it needs from the values loaded in it. A staged value must
  // still be computed in its store pass, or its row would never be written: if loading
  // another value took that away, nothing is staged and every pass recomputes.
  std::vector<std::set<ValueId>> loaded(needed.size());
  for (const Staged &st : staged) loaded[static_cast<size_t>(st.load_pass)].insert(st.value);
  std::vector<std::set<ValueId>> with_loads = needed;
  for (size_t pass = 0; pass < needed.size(); ++pass)
    if (!loaded[pass].empty()) with_loads[pass] = closure(static_cast<int>(pass), loaded[pass]);
  for (const Staged &st : staged) {
    const auto p = static_cast<size_t>(st.store_pass);
    if (!with_loads[p].count(st.value) || loaded[p].count(st.value)) {
      staged.clear();
      with_loads = needed;
      break;
    }
  }
  needed = std::move(with_loads);
  int64_t scratch_bytes = 0;
  for (Staged &st : staged) {
    // A row vectorized across rows has a row per lane: it keeps its values in the output.
    // So does a row past the stack budget (the caller's thread may have a small stack).
    const int64_t bytes = row_length() * dtype_size(g_.type(st.value).dtype);
    if (options_.kernel.row_scratch && row_length() <= options_.schedule.short_row &&
        k_.loops.back().vector && scratch_bytes + bytes <= options_.schedule.max_scratch_bytes) {
      scratch_bytes += bytes;
      st.arg = static_cast<int32_t>(k_.args.size());
      k_.args.push_back({fmt::format("row{}", names_[st.value]), g_.type(st.value).dtype,
                         row_length(), true, true});
      st.index = row_index(first_inner);
    } else {
      st.arg = arg_of_.at(st.output);
      st.index = output_index(st.output);
    }
  }

  std::vector<Stmt> row;
  Cache row_values;
  row_block_ = &row;
  auto emit_row_values = [&](int known) {  // row values whose inputs are known by now
    for (int32_t m : group_.members) {
      const ir::Node &node = g_.nodes[m];
      if (role(node.result) != Role::Row || op_info(node.op).category == OpCategory::Reduce)
        continue;
      if (level.at(node.result) == known && !row_values.count(node.result))
        compute(m, row, row_values, {});
    }
  };
  emit_row_values(0);
  for (int pass = 0; pass < passes; ++pass) {
    const std::vector<int32_t> &now = reductions[static_cast<size_t>(pass)];
    std::vector<int32_t> accs;
    for (int32_t r : now) {
      const ir::Node &node = g_.nodes[r];
      const DType in = g_.type(node.operands[0]).dtype;
      DType acc = g_.type(node.result).dtype;
      if (node.op == OpKind::Sum || node.op == OpKind::Prod)
        acc = is_floating(in) ? DType::F64 : DType::I64;
      // A float sum of a short row stays in its dtype: spread over the vector's lanes, each
      // lane adds at most a few dozen terms, and widening every element costs as much as
      // the rest of a softmax pass. Long rows (a full reduction) accumulate in f64, and so
      // do rows vectorized across rows past a few terms: each lane adds its row's terms one
      // after another (a column sum of 1024 rows lost 8e-6 in f32).
      const bool lane_adds_row =
          !k_.loops.back().vector && row_length() > options_.schedule.across_rows;
      if (node.op == OpKind::Sum && is_floating(in) &&
          row_length() <= options_.schedule.short_row && !lane_adds_row)
        acc = in;
      k_.accs.push_back({node.op, acc});
      accs.push_back(static_cast<int32_t>(k_.accs.size() - 1));
      row.push_back({.kind = Stmt::Kind::AccInit, .id = accs.back()});
    }
    std::vector<Stmt> inner;
    Cache local;
    for (const Staged &st : staged)
      if (st.load_pass == pass)
        local[st.value] = add_scalar({.kind = Scalar::Kind::Load,
                                      .dtype = k_.args[st.arg].dtype,
                                      .arg = st.arg,
                                      .index = st.index},
                                     inner);
    for (int32_t m : group_.members) {
      ValueId v = g_.nodes[m].result;
      if (!needed[static_cast<size_t>(pass)].count(v) || local.count(v)) continue;
      int32_t s = compute(m, inner, local, row_values);
      if (is_output(v) && level.at(v) == pass) store(v, s, inner);
      for (const Staged &st : staged)
        if (st.store_pass == pass && st.value == v)
          inner.push_back({.kind = Stmt::Kind::Store, .id = s, .arg = st.arg, .index = st.index});
    }
    for (size_t i = 0; i < now.size(); ++i) {
      ValueId in = g_.nodes[now[i]].operands[0];
      int32_t s = convert(operand(in, inner, local, row_values), k_.accs[accs[i]].dtype, inner);
      inner.push_back({.kind = Stmt::Kind::AccUpdate, .id = accs[i], .value = s});
    }
    for (Stmt &s : nest(first_inner, loops_.size(), std::move(inner))) row.push_back(std::move(s));
    for (size_t i = 0; i < now.size(); ++i) {
      ValueId v = g_.nodes[now[i]].result;
      int32_t s = add_scalar(
          {.kind = Scalar::Kind::Acc, .dtype = k_.accs[accs[i]].dtype, .acc = accs[i]}, row);
      row_values[v] = convert(s, g_.type(v).dtype, row);
    }
    emit_row_values(pass + 1);
  }
  row_block_ = nullptr;
  for (ValueId v : group_.outputs)
    if (role(v) == Role::Row) store(v, row_values.at(v), row);
  k_.body = nest(0, first_inner, std::move(row));
}

}  // namespace

GraphIndex::GraphIndex(const ir::Graph &g)
    : producer(ir::producer_nodes(g)), names(ir::print_names(g)) {}

lower::Kernel schedule(const ir::Graph &g, const GraphIndex &index, const lower::Group &group,
                       std::string name, const ScheduleOptions &options) {
  KILN_CHECK(group.kind != lower::GroupKind::Library, "a library group has no kernel");
  KILN_CHECK(options.vector_bytes > 0, "schedule: no target vector width");
  return Scheduler(g, index, group, std::move(name), options).run();
}

ir::GemmTile gemm_tile(DType dtype, int64_t vector_bytes) {
  const int64_t lanes = vector_bytes / dtype_size(dtype);
  return {.mr = vector_bytes >= 64 ? 8 : 6, .nr = 2 * lanes, .kc = 256, .mc = 256, .nc = 1024};
}

}  // namespace kiln::lower
