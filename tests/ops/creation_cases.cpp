// Value and error cases for the creation ops.
#include "op_cases.h"

namespace kiln::test {

std::vector<OpCase> creation_cases() { return {}; }
std::vector<OpErrorCase> creation_errors() { return {}; }

}  // namespace kiln::test
