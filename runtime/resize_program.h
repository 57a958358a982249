// A dynamic Program is built once at witness sizes (ir/substitute_sizes.h); each call's
// sizes get their own copy of it: slot types, op steps' attributes and results, kernel
// steps' extents and grains, the sizes the kernels read, then a fresh memory plan. The
// kernels themselves are shared: they read the symbols' sizes at run time.
#pragma once

#include <memory>

#include "ir/substitute_sizes.h"
#include "runtime/program.h"

namespace kiln::runtime {

[[nodiscard]] std::shared_ptr<const Program> resize_program(const Program &p,
                                                            const ir::SizeMap &map);

}  // namespace kiln::runtime
