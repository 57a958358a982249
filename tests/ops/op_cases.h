// The op test table: every row of ir/ops.def has value cases (the op's eager result
// against a hand-computed or independently computed reference) and error cases (the
// exact kiln::Error message). tests/ops/op_table_test.cpp walks the op table and fails
// if a row has neither; later backends reuse the same cases (compile(fn) == eager).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "../check.h"
#include "ir/op_kind.h"
#include "kiln/kiln.h"

namespace kiln::test {

struct OpCase {
  OpKind op;
  std::string name;  // what the case proves, e.g. "exp f32 transposed input"
  std::function<Tensor(const std::vector<Tensor> &)> fn;
  std::vector<Tensor> inputs;
  Tensor expected;
  Tolerance tol;
};

struct OpErrorCase {
  OpKind op;
  std::string name;
  std::function<void()> call;
  std::string message;  // the full kiln::Error text
};

// One function per op family, each in its own file under tests/ops/.
std::vector<OpCase> creation_cases();
std::vector<OpCase> unary_cases();
std::vector<OpCase> binary_cases();
std::vector<OpCase> reduce_cases();
std::vector<OpCase> matmul_cases();
std::vector<OpCase> movement_cases();
std::vector<OpCase> nn_cases();

std::vector<OpErrorCase> creation_errors();
std::vector<OpErrorCase> unary_errors();
std::vector<OpErrorCase> binary_errors();
std::vector<OpErrorCase> reduce_errors();
std::vector<OpErrorCase> matmul_errors();
std::vector<OpErrorCase> movement_errors();
std::vector<OpErrorCase> nn_errors();

std::vector<OpCase> all_op_cases();
std::vector<OpErrorCase> all_op_errors();

}  // namespace kiln::test
