// Value and error cases for the matmul ops.
#include "op_cases.h"

namespace kiln::test {

std::vector<OpCase> matmul_cases() { return {}; }
std::vector<OpErrorCase> matmul_errors() { return {}; }

}  // namespace kiln::test
