// Value and error cases for the binary ops.
#include "op_cases.h"

namespace kiln::test {

std::vector<OpCase> binary_cases() { return {}; }
std::vector<OpErrorCase> binary_errors() { return {}; }

}  // namespace kiln::test
