// Array: a typed, strided view of shared storage — the runtime's tensor, without the
// frontend's API. Eager dispatch and the reference evaluator both execute ops on Arrays
// (runtime/execute.h).
#pragma once

#include "ir/layout.h"
#include "ir/tensor_type.h"
#include "runtime/storage.h"

namespace kiln::runtime {

struct Array {
  Storage storage;
  DType dtype = DType::F32;
  ir::Layout layout;

  [[nodiscard]] TensorType type() const { return {dtype, layout.sizes}; }
};

}  // namespace kiln::runtime
