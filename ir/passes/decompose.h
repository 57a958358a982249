// Decomposition: composite ops (softmax, log_softmax, layer_norm, rms_norm, gelu, silu,
// mean, var, std, logsumexp, mse_loss) become primitives, so later passes see only those.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// Requires a verified graph. Guarantees none of the ops above remains (dropout,
// cross_entropy, embedding and one_hot stay), types are unchanged, and values equal the
// eager kernels' within float tolerance. Replacements sit where the composite was.
[[nodiscard]] bool decompose(Graph &g);

}  // namespace kiln::ir
