// Value and error cases for the nn ops.
#include "op_cases.h"

namespace kiln::test {

std::vector<OpCase> nn_cases() { return {}; }
std::vector<OpErrorCase> nn_errors() { return {}; }

}  // namespace kiln::test
