// Tensor semantics: views share storage, contiguous() copies only when needed, promotion
// and broadcasting rules, read-back, printing, seeding, and their error messages.
#include <doctest/doctest.h>

#include "check.h"

namespace kiln::test {

TEST_SUITE("tensor") {
  TEST_CASE("views share storage and copies do not") {
    Tensor x = arange(12, DType::F32).reshape({3, 4});
    CHECK(x.is_contiguous());
    Tensor t = x.transpose(0, 1);
    CHECK(t.shares_storage(x));
    CHECK_FALSE(t.is_contiguous());
    CHECK(t.strides() == Shape{1, 4});
    CHECK(x.slice(1, 1, 4, 2).shares_storage(x));
    CHECK(x.slice(1, 1, 4, 2).strides() == Shape{4, 2});
    CHECK(x.slice(1, 1, 4, 2).offset() == 1);
    CHECK(x.unsqueeze(0).expand({2, 3, 4}).strides() == Shape{0, 4, 1});
    CHECK(x.reshape({2, 6}).shares_storage(x));
    CHECK(x.contiguous().shares_storage(x));
    // A transposed tensor cannot be flattened without reordering memory: reshape copies.
    Tensor flat = t.reshape({12});
    CHECK_FALSE(flat.shares_storage(x));
    CHECK(flat.tolist<float>() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
    Tensor dense = t.contiguous();
    CHECK(dense.is_contiguous());
    CHECK_FALSE(dense.shares_storage(x));
    // Splitting a dim of a transposed tensor is still a view.
    CHECK(t.reshape({2, 2, 3}).shares_storage(x));
  }

  TEST_CASE("dtype promotion follows PyTorch categories") {
    auto type_of = [](const Tensor &t) { return t.dtype(); };
    Tensor b = ones({2}, DType::Bool), i32 = ones({2}, DType::I32), i64 = ones({2}, DType::I64);
    Tensor f32 = ones({2}, DType::F32), f64 = ones({2}, DType::F64);
    CHECK(type_of(b + i32) == DType::I32);
    CHECK(type_of(i32 + i64) == DType::I64);
    CHECK(type_of(i64 + f32) == DType::F32);
    CHECK(type_of(f32 + f64) == DType::F64);
    CHECK(type_of(i32 / i32) == DType::F32);  // true division
    // A scalar widens only across categories, and then to the default dtype.
    CHECK(type_of(i32 + 2) == DType::I32);
    CHECK(type_of(i32 + 2.5) == DType::F32);
    CHECK(type_of(b + 1) == DType::I64);
    CHECK(type_of(f32 * 2) == DType::F32);
    CHECK(type_of(f64 + 1.5) == DType::F64);
    CHECK(type_of(exp(i64)) == DType::F32);
    CHECK(type_of(i32 == f32) == DType::Bool);
  }

  TEST_CASE("broadcasting follows NumPy") {
    CHECK((zeros({3, 1}) + zeros({4})).sizes() == Shape{3, 4});
    CHECK((zeros({2, 1, 4}) + zeros({3, 1})).sizes() == Shape{2, 3, 4});
    CHECK((zeros({0, 1}) + zeros({5})).sizes() == Shape{0, 5});
    CHECK(error_message([] { (void)(zeros({2, 3}) + zeros({4})); }) ==
          "add: shapes [2,3] and [4] cannot be broadcast together (dim 1: 3 vs 4)");
  }

  TEST_CASE("read-back converts and checks element counts") {
    Tensor x = from_vector<int64_t>({1, -2, 3}, Shape{3});
    CHECK(x.tolist<double>() == std::vector<double>{1, -2, 3});
    CHECK(x.tolist<bool>() == std::vector<bool>{true, true, true});
    CHECK(x[1].item<int64_t>() == -2);
    CHECK(scalar_tensor(2.5).item<float>() == 2.5f);
    CHECK(error_message([&] { (void)x.item<float>(); }) ==
          "item: expected a tensor with one element, got shape [3] (3 elements)");
    CHECK(error_message([] { (void)from_vector<float>({1, 2, 3}, Shape{2, 2}); }) ==
          "from_vector: shape [2,2] needs 4 elements, got 3");
    float raw[4] = {1, 2, 3, 4};
    CHECK(from_data(raw, {2, 2}).tolist<float>() == std::vector<float>{1, 2, 3, 4});
  }

  TEST_CASE("printing shows dtype, shape and values, eliding long dims") {
    CHECK(arange(4).reshape({2, 2}).str() == "i64[2,2] [[0, 1], [2, 3]]");
    CHECK(scalar_tensor(true).str() == "bool[] true");
    CHECK(from_vector<float>({0.5f, -1.25f}).str() == "f32[2] [0.5, -1.25]");
    CHECK(arange(10).str() == "i64[10] [0, 1, 2, ..., 7, 8, 9]");
    CHECK(Tensor().str() == "undefined");
  }

  TEST_CASE("undefined tensors are rejected by name") {
    Tensor none;
    CHECK_FALSE(none.defined());
    CHECK(error_message([&] { (void)none.sizes(); }) ==
          "tensor is undefined: it was default-constructed and never assigned");
    CHECK(error_message([&] { (void)relu(none); }) == "relu: argument 0 is an undefined tensor");
    CHECK(error_message([&] { (void)matmul(ones({2, 2}), none); }) ==
          "matmul: argument 1 is an undefined tensor");
  }

  TEST_CASE("manual_seed makes random ops reproducible and thread-count independent") {
    manual_seed(7);
    Tensor a = randn({1000});
    Tensor b = rand({5});
    manual_seed(7);
    KILN_CHECK_CLOSE(randn({1000}), a, Tolerance{});
    KILN_CHECK_CLOSE(rand({5}), b, Tolerance{});
    CHECK(compare(randn({1000}), a, Tolerance{}) != "");  // the generator moved on
    const int threads = num_threads();
    set_num_threads(1);
    manual_seed(7);
    KILN_CHECK_CLOSE(randn({1000}), a, Tolerance{});
    set_num_threads(threads);
  }

  TEST_CASE("dtype names round-trip and unknown names are reported") {
    for (DType d : kAllDTypes) CHECK(parse_dtype(dtype_name(d)) == d);
    CHECK(error_message([] { (void)parse_dtype("f16x"); }) ==
          "unknown dtype 'f16x': expected one of bool, i32, i64, f32, f64");
  }

  TEST_CASE("huge allocations fail with a clear error") {
    CHECK(error_message([] { (void)zeros({int64_t{1} << 40, int64_t{1} << 20}); }) ==
          "cannot allocate a f32 tensor of shape [1099511627776,1048576]: 1152921504606846976 "
          "elements is too many");
    CHECK(error_message([] { (void)zeros({-1, 2}); }) ==
          "zeros: size at dim 0 must be non-negative, got -1");
  }
}

}  // namespace kiln::test
