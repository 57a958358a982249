// resize_program: the witness sizes of a dynamic Program replaced by a call's sizes.
#include "runtime/resize_program.h"

#include "ir/diag.h"

namespace kiln::runtime {

std::shared_ptr<const Program> resize_program(const Program &p, const ir::SizeMap &map) {
  Plan out = p.plan();
  for (Slot &s : out.slots) s.type.shape = ir::substitute(s.type.shape, map);
  const std::vector<int64_t> sizes(map.to.begin(), map.to.end());
  for (Step &step : out.steps) {
    if (auto *k = std::get_if<KernelStep>(&step)) {
      k->extent = k->extent_expr.evaluate(sizes);
      k->grain = k->grain_at(k->elements.evaluate(sizes));
      continue;
    }
    auto &op = std::get<OpStep>(step);
    op.attrs = ir::substitute(op.attrs, map);
    op.result.shape = ir::substitute(op.result.shape, map);
  }
  out.sizes = sizes;
  out.lay_out();
  return std::make_shared<const Program>(std::move(out), p.code(), p.name());
}

}  // namespace kiln::runtime
