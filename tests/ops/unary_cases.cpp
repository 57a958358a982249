// Value and error cases for the unary ops.
#include "op_cases.h"

namespace kiln::test {

std::vector<OpCase> unary_cases() { return {}; }
std::vector<OpErrorCase> unary_errors() { return {}; }

}  // namespace kiln::test
