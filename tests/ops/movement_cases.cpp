// Value and error cases for the movement ops.
#include "op_cases.h"

namespace kiln::test {

std::vector<OpCase> movement_cases() { return {}; }
std::vector<OpErrorCase> movement_errors() { return {}; }

}  // namespace kiln::test
