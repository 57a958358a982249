// The `verify` pass: the verifier as a pipeline step, so tests can place it anywhere.
#include "ir/passes/verify_pass.h"

#include "ir/verify.h"

namespace kiln::ir {

bool verify_pass(Graph &g) {
  verify(g);
  return false;
}

}  // namespace kiln::ir
