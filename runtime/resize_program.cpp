// resize_program: the witness sizes of a dynamic Program replaced by a call's sizes.
#include "runtime/resize_program.h"

#include "ir/diag.h"

namespace kiln::runtime {

std::shared_ptr<const Program> resize_program(const Program &p, const ir::SizeMap &map) {
  Plan out = p.plan();
  for (Slot &s : out.slots) s.type.shape = ir::substitute(s.type.shape, map);
  for (Step &step : out.steps) {
    if (auto *k = std::get_if<KernelStep>(&step)) {
      if (k->symbol < 0) continue;
      const int64_t witness = map.from[k->symbol];
      KILN_CHECK(k->extent % witness == 0, "kernel {}: extent {} is not a multiple of s{}", k->name,
                 k->extent, k->symbol);
      k->extent = k->extent / witness * map.to[k->symbol];
      continue;
    }
    auto &op = std::get<OpStep>(step);
    op.attrs = ir::substitute(op.attrs, map);
    op.result.shape = ir::substitute(op.result.shape, map);
  }
  out.lay_out();
  return std::make_shared<const Program>(std::move(out), p.code(), p.name());
}

}  // namespace kiln::runtime
