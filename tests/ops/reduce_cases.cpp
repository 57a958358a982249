// Value and error cases for the reduce ops.
#include "op_cases.h"

namespace kiln::test {

std::vector<OpCase> reduce_cases() { return {}; }
std::vector<OpErrorCase> reduce_errors() { return {}; }

}  // namespace kiln::test
