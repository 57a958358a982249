// Symbol assignment and the kernel check behind dynamic shapes.
#include "dynamic_shapes.h"

#include <fmt/format.h>

#include <map>

#include "ir/diag.h"
#include "ir/kernel_ir.h"
#include "ir/shape.h"

namespace kiln::detail {
namespace {

// The kernel's text without what may differ between witness sets: the outer extent (the
// runtime passes each thread its range) and buffer sizes (the memory plan's concern).
std::string shape_free_text(ir::Kernel k) {
  if (!k.loops.empty()) k.loops[0].extent = 0;
  for (ir::KernelArg &a : k.args) a.numel = 0;
  return ir::print_kernel(k);
}

}  // namespace

std::vector<guards::SymbolicDim> assign_symbols(std::span<const guards::ArgDesc> args,
                                                std::span<const std::pair<int32_t, int32_t>> candidates) {
  std::vector<guards::SymbolicDim> out;
  std::map<int64_t, int32_t> symbol_of_size;
  for (auto [row, dim] : candidates) {
    const guards::ArgDesc &a = args[row];
    if (a.kind != guards::ArgDesc::Kind::Tensor || dim >= static_cast<int32_t>(a.sizes.size())) continue;
    const int64_t size = a.sizes[dim];
    if (size < 2 || !is_contiguous(a.sizes, a.strides)) continue;
    auto it = symbol_of_size.find(size);
    if (it == symbol_of_size.end()) {
      if (static_cast<int>(symbol_of_size.size()) == guards::kMaxSymbols) continue;
      it = symbol_of_size.emplace(size, static_cast<int32_t>(symbol_of_size.size())).first;
    }
    out.push_back({row, dim, it->second});
  }
  return out;
}

std::string generalize_kernels(const BuiltProgram &built, const BuiltProgram &other, std::span<const int64_t> a,
                               std::span<const int64_t> b, std::vector<int32_t> &symbols) {
  if (built.kernel_ir.size() != other.kernel_ir.size() || built.kernel_steps != other.kernel_steps)
    return "fusion groups the graph differently at different sizes";
  symbols.assign(built.kernel_ir.size(), -1);
  for (size_t i = 0; i < built.kernel_ir.size(); ++i) {
    const ir::Kernel &ka = built.kernel_ir[i], &kb = other.kernel_ir[i];
    if (shape_free_text(ka) != shape_free_text(kb))
      return fmt::format("kernel @{} needs a symbol's value inside its loops (only the outermost loop "
                         "may walk a dynamic dim)", ka.name);
    const int64_t ea = ka.parallel_extent(), eb = kb.parallel_extent();
    if (ea == eb) continue;
    int32_t symbol = -1;
    for (size_t k = 0; k < a.size() && symbol < 0; ++k)
      if (ea % a[k] == 0 && eb % b[k] == 0 && ea / a[k] == eb / b[k]) symbol = static_cast<int32_t>(k);
    if (symbol < 0)
      return fmt::format("kernel @{}'s outer loop is not a multiple of one symbol", ka.name);
    symbols[i] = symbol;
  }
  return {};
}

}  // namespace kiln::detail
