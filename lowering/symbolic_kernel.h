// Dynamic shapes at the kernel level: one graph fused and scheduled at two witness sets
// (ir/substitute_sizes.h) gives two kernels that must be the same program but for their
// numbers. Each number that differs becomes the polynomial over the symbols that takes
// both values (ir::fit_sym_expr): an extent or stride in any loop, a buffer's size, an
// offset, or a scalar that is a size (the count a mean divides by). The result is one
// kernel for every size, which the backend compiles once and runs with the call's sizes.
#pragma once

#include <span>
#include <string>

#include "lowering/kernel_ir.h"

namespace kiln::lower {

// `out` = the kernel `at_a` with its numbers as polynomials; returns "" or why the two
// differ in more than numbers, or in a number no polynomial fits (a decision made from a
// size, such as a short row's scratch), naming the kernel.
[[nodiscard]] std::string symbolize_kernel(const Kernel &at_a, const Kernel &at_b,
                                           std::span<const int64_t> a, std::span<const int64_t> b,
                                           Kernel &out);

// Whether `symbolic` (of symbolize_kernel) is `at_c`, the kernel scheduled at a third
// witness set `c`, when its numbers are evaluated there: two sets determine a fit, the third
// tests it. Returns "" or what differs.
[[nodiscard]] std::string check_symbolic_kernel(const Kernel &symbolic, const Kernel &at_c,
                                                std::span<const int64_t> c);

}  // namespace kiln::lower
