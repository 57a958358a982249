// Eager CPU kernels for composite nn ops (softmax, log_softmax, layer_norm, rms_norm,
// dropout, mse_loss, cross_entropy, embedding, one_hot): one fused pass structure each,
// so eager mode does not pay five memory round trips for a softmax.
#pragma once

#include <span>

#include "ir/attrs.h"
#include "ir/op_kind.h"
#include "runtime/view.h"

namespace kiln::runtime {

void nn_kernel(OpKind op, std::span<const View> in, const Attrs &attrs, const View &out);

}  // namespace kiln::runtime
