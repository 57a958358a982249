// Gradient cases for every differentiable op (grad_cases.cpp), checked by
// tests/autograd_test.cpp against finite differences and against compile().
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "../check.h"
#include "ir/op_kind.h"

namespace kiln::test {

struct GradCase {
  OpKind op;         // the op whose gradient rule the case exercises
  std::string name;  // what it proves
  std::function<Tensor(const std::vector<Tensor> &)> fn;
  std::vector<Tensor> inputs;  // f64 where differentiated; integer inputs are constants
};

std::vector<GradCase> grad_cases();

}  // namespace kiln::test
