// Kernel IR text: loops indented by nesting, one statement per line, indices written as
// affine sums so a reader sees the strides of every access.
#include "lowering/kernel_ir.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>

namespace kiln::lower {
namespace {

std::string print_index(const Index &index) {
  std::vector<std::string> terms;
  for (size_t l = 0; l < index.strides.size(); ++l) {
    const ir::SymExpr &stride = index.strides[l];
    if (stride == 0) continue;
    if (stride == 1)
      terms.push_back(fmt::format("i{}", l));
    else if (stride.is_constant() || stride.terms().size() == 1)
      terms.push_back(fmt::format("{}*i{}", stride.text(), l));
    else
      terms.push_back(fmt::format("({})*i{}", stride.text(), l));
  }
  if (!(index.offset == 0) || terms.empty()) terms.push_back(index.offset.text());
  return fmt::format("{}", fmt::join(terms, " + "));
}

std::string print_scalar(const Kernel &k, int32_t id) {
  const Scalar &s = k.scalars[id];
  std::string head = fmt::format("v{}: {} = ", id, dtype_name(s.dtype));
  switch (s.kind) {
    case Scalar::Kind::Load:
      return head + fmt::format("load %{}[{}]", k.args[s.arg].name, print_index(s.index));
    case Scalar::Kind::Constant:
      return head +
             (is_integral(s.dtype) ? fmt::format("{}", s.int_value) : fmt::format("{}", s.value));
    case Scalar::Kind::Acc: return head + fmt::format("a{}", s.acc);
    case Scalar::Kind::Product: return head + "product";
    case Scalar::Kind::Size:
      return head + fmt::format("{}{}({})", s.scale, s.reciprocal ? "/" : "*", s.size.text());
    case Scalar::Kind::Op: {
      std::vector<std::string> attrs, operands;
      for (const auto &[key, value] : s.attrs.items())
        attrs.push_back(
            fmt::format("{}={}", key,
                        std::visit(
                            [](const auto &v) {
                              if constexpr (std::is_same_v<std::decay_t<decltype(v)>, DType>)
                                return std::string(dtype_name(v));
                              else
                                return fmt::format("{}", v);
                            },
                            value)));
      for (int32_t o : s.operands) operands.push_back(fmt::format("v{}", o));
      return head + fmt::format("{}{} {}", op_name(s.op),
                                attrs.empty() ? "" : fmt::format("[{}]", fmt::join(attrs, ", ")),
                                fmt::join(operands, ", "));
    }
  }
  return head;
}

void print_stmts(const Kernel &k, const std::vector<Stmt> &stmts, int depth, std::string &out) {
  const std::string pad(static_cast<size_t>(2 * depth), ' ');
  for (const Stmt &s : stmts) {
    switch (s.kind) {
      case Stmt::Kind::Let: out += pad + print_scalar(k, s.id) + "\n"; break;
      case Stmt::Kind::Store:
        out += pad +
               fmt::format("store %{}[{}] = v{}\n", k.args[s.arg].name, print_index(s.index), s.id);
        break;
      case Stmt::Kind::AccInit:
        out += pad + fmt::format("a{}: {} = {} identity\n", s.id, dtype_name(k.accs[s.id].dtype),
                                 op_name(k.accs[s.id].combine));
        break;
      case Stmt::Kind::AccUpdate:
        out += pad + fmt::format("a{} = {} a{}, v{}\n", s.id, op_name(k.accs[s.id].combine), s.id,
                                 s.value);
        break;
      case Stmt::Kind::For: {
        const Loop &loop = k.loops[s.id];
        std::string marks =
            std::string(loop.parallel ? "parallel " : "") + (loop.vector ? "vector " : "");
        const std::string split =
            loop.parallel && loop.split > 1 ? fmt::format(" split {}", loop.split) : "";
        out +=
            pad + fmt::format("{}for i{} in 0..{}{} {{\n", marks, s.id, loop.extent.text(), split);
        print_stmts(k, s.body, depth + 1, out);
        out += pad + "}\n";
        break;
      }
    }
  }
}

}  // namespace

std::string print_kernel(const Kernel &k) {
  std::vector<std::string> args;
  for (const KernelArg &a : k.args)
    args.push_back(fmt::format("%{}: {}[{}]{}", a.name, dtype_name(a.dtype), a.numel.text(),
                               a.scratch ? " row scratch"
                               : a.streaming && !a.numel.is_constant()
                                   ? fmt::format(" out streaming from {} bytes", a.stream_bytes)
                               : a.streaming ? " out streaming"
                               : a.written   ? " out"
                                             : ""));
  std::string out = k.name.empty()
                        ? fmt::format("kernel ({}) {{\n", fmt::join(args, ", "))
                        : fmt::format("kernel @{}({}) {{\n", k.name, fmt::join(args, ", "));
  if (const auto &m = k.gemm) {
    const ir::GemmTile &t = m->tile;
    auto operand = [&](const std::string &name, DType dtype,
                       const std::vector<ir::SymExpr> &shape) {
      std::vector<std::string> dims;
      for (const ir::SymExpr &d : shape) dims.push_back(d.text());
      return fmt::format("%{}[{}]{}", name, fmt::join(dims, ","),
                         dtype == m->dtype ? "" : fmt::format(" from {}", dtype_name(dtype)));
    };
    out += fmt::format("  product: {} = matmul {}, {} tiled mr={} nr={} kc={} mc={} nc={}\n",
                       dtype_name(m->dtype), operand(m->a, m->a_dtype, m->a_shape),
                       operand(m->b, m->b_dtype, m->b_shape), t.mr, t.nr, t.kc, t.mc, t.nc);
  }
  print_stmts(k, k.body, 1, out);
  return out + "}\n";
}

double clamp_float_bound(const Attrs &attrs, std::string_view key, DType dtype) {
  double d = attrs.get_double(key);
  return dtype == DType::F32 ? static_cast<double>(static_cast<float>(d)) : d;
}

int64_t clamp_int_bound(const Attrs &attrs, std::string_view key, DType dtype) {
  const int64_t lo = dtype == DType::I32 ? std::numeric_limits<int32_t>::min()
                                         : std::numeric_limits<int64_t>::min();
  const int64_t hi = dtype == DType::I32 ? std::numeric_limits<int32_t>::max()
                                         : std::numeric_limits<int64_t>::max();
  const AttrValue *v = attrs.find(key);
  if (const int64_t *i = std::get_if<int64_t>(v)) return std::clamp(*i, lo, hi);
  double d = attrs.get_double(key);
  if (d != d) return 0;
  if (d <= static_cast<double>(lo)) return lo;
  if (d >= static_cast<double>(hi)) return hi;
  return static_cast<int64_t>(d);
}

bool Kernel::symbolic() const {
  auto index = [](const Index &i) {
    return !i.offset.is_constant() ||
           std::any_of(i.strides.begin(), i.strides.end(),
                       [](const ir::SymExpr &s) { return !s.is_constant(); });
  };
  for (const Loop &l : loops)
    if (!l.extent.is_constant()) return true;
  for (const KernelArg &a : args)
    if (!a.numel.is_constant()) return true;
  for (const Scalar &s : scalars)
    if (s.kind == Scalar::Kind::Size || (s.kind == Scalar::Kind::Load && index(s.index)))
      return true;
  bool stores = false;
  auto walk = [&](auto &self, const std::vector<Stmt> &stmts) -> void {
    for (const Stmt &st : stmts) {
      if (st.kind == Stmt::Kind::Store && index(st.index)) stores = true;
      self(self, st.body);
    }
  };
  walk(walk, body);
  return stores;
}

std::string print_kernel_normalized(const Kernel &k) {
  Kernel copy = k;
  copy.name.clear();
  for (size_t i = 0; i < copy.args.size(); ++i) copy.args[i].name = fmt::format("a{}", i);
  if (copy.gemm) {
    copy.gemm->a = "A";
    copy.gemm->b = "B";
  }
  return print_kernel(copy);
}

}  // namespace kiln::lower
