// Walks the op table: every op has a kernel family, at least one value case and one error
// case; then runs every case.
#include <doctest/doctest.h>

#include <map>

#include "op_cases.h"
#include "runtime/kernels.h"

namespace kiln::test {

std::vector<OpCase> all_op_cases() {
  std::vector<OpCase> all;
  for (auto family : {creation_cases, unary_cases, binary_cases, reduce_cases, matmul_cases,
                      movement_cases, nn_cases})
    for (OpCase &c : family()) all.push_back(std::move(c));
  return all;
}

std::vector<OpErrorCase> all_op_errors() {
  std::vector<OpErrorCase> all;
  for (auto family : {creation_errors, unary_errors, binary_errors, reduce_errors, matmul_errors,
                      movement_errors, nn_errors})
    for (OpErrorCase &c : family()) all.push_back(std::move(c));
  return all;
}

TEST_SUITE("ops") {
  TEST_CASE("every op in the table has a kernel, value cases and error cases") {
    std::map<OpKind, int> values, errors;
    for (const OpCase &c : all_op_cases()) ++values[c.op];
    for (const OpErrorCase &c : all_op_errors()) ++errors[c.op];
    for (const OpInfo &info : kOpTable) {
      CAPTURE(info.name);
      (void)runtime::kernel_family(info.kind);  // aborts if an op has no kernel
      CHECK_MESSAGE(values[info.kind] > 0, "op '", info.name, "' has no value test case");
      CHECK_MESSAGE(errors[info.kind] > 0, "op '", info.name, "' has no error test case");
    }
  }

  TEST_CASE("every op case matches its reference") {
    for (const OpCase &c : all_op_cases()) {
      CAPTURE(c.name);
      Tensor got;
      std::string error = error_message([&] { got = c.fn(c.inputs); });
      REQUIRE_MESSAGE(error == "<no error>", c.name, ": ", error);
      std::string mismatch = compare(got, c.expected, c.tol);
      CHECK_MESSAGE(mismatch.empty(), op_name(c.op), ": ", c.name, ": ", mismatch);
    }
  }

  TEST_CASE("every op error case raises its exact message") {
    for (const OpErrorCase &c : all_op_errors()) {
      CAPTURE(c.name);
      CHECK_MESSAGE(error_message(c.call) == c.message, op_name(c.op), ": ", c.name);
    }
  }
}

}  // namespace kiln::test
