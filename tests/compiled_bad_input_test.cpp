// Bad input to a compiled function: another argument count, a dtype an op rejects,
// mismatched shapes and an allocation that fails. Each fails with eager's full message
// (the same type rules and allocator run while tracing and running), and the next good
// call still works.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#include "check.h"
#include "log_capture.h"

namespace kiln::test {
namespace {

// ASan's and TSan's allocators refuse a request this large (over their 1 TiB maximum) with a
// report that aborts the run instead of returning null, so the allocation test is skipped.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// The message `compiled` fails with, checked to be the message `eager` fails with.
std::string same_error(const std::function<void()> &compiled, const std::function<void()> &eager) {
  const std::string message = error_message(compiled);
  CHECK(message == error_message(eager));
  return message;
}

// Lowers the address-space limit to what the process maps now plus `headroom` while alive,
// so a larger allocation fails at once whatever the machine's overcommit policy, and no
// memory is touched. Relative to the current size because a runtime (CUDA's, a sanitizer's)
// may already have reserved terabytes of address space.
class AddressSpaceLimit {
 public:
  explicit AddressSpaceLimit(rlim_t headroom) {
    getrlimit(RLIMIT_AS, &saved_);
    rlim_t mapped_pages = 0;
    std::ifstream("/proc/self/statm") >> mapped_pages;
    rlimit lower = saved_;
    lower.rlim_cur = std::min(saved_.rlim_max, mapped_pages * sysconf(_SC_PAGESIZE) + headroom);
    setrlimit(RLIMIT_AS, &lower);
  }
  ~AddressSpaceLimit() { setrlimit(RLIMIT_AS, &saved_); }
  AddressSpaceLimit(const AddressSpaceLimit &) = delete;
  AddressSpaceLimit &operator=(const AddressSpaceLimit &) = delete;

 private:
  rlimit saved_{};
};

}  // namespace

TEST_SUITE("compile") {
  TEST_CASE("a compiled function called with another number of arguments retraces and says why") {
    // A fixed signature makes a wrong count a C++ compile error (CompiledFunction::operator()
    // needs std::invoke_result_t of the call), so the count can only differ for a generic
    // function or in the length of a std::vector<Tensor> argument.
    auto sum_of = compile([](auto... xs) { return (xs + ...); },
                          {.name = "sum_of", .arg_names = {"a", "b", "c"}});
    const Tensor one = ones({2});
    LogCapture log("recompiles");
    KILN_CHECK_CLOSE(sum_of(one, one), full({2}, 2.0), Tolerance{});
    KILN_CHECK_CLOSE(sum_of(one, one, one), full({2}, 3.0), Tolerance{});
    CHECK(log.lines() ==
          std::vector<std::string>{
              "recompiles: recompiling sum_of: argument count mismatch: expected 2, got 3"});

    auto total = compile(
        [](std::vector<Tensor> xs) {
          Tensor s = xs.at(0);
          for (size_t i = 1; i < xs.size(); ++i) s = s + xs[i];
          return s;
        },
        {.name = "total", .arg_names = {"xs"}});
    LogCapture vector_log("recompiles");
    KILN_CHECK_CLOSE(total(std::vector<Tensor>{one, one}), full({2}, 2.0), Tolerance{});
    KILN_CHECK_CLOSE(total(std::vector<Tensor>{one, one, one}), full({2}, 3.0), Tolerance{});
    // A vector's length is guarded as a scalar named after it.
    CHECK(vector_log.lines() ==
          std::vector<std::string>{"recompiles: recompiling total: scalar 'xs.size()' (arg 0) "
                                   "value mismatch: expected 2, got 3"});
    CHECK(explain(total, std::vector<Tensor>{one}).graphs == 3);
  }

  TEST_CASE("a dtype an op rejects fails compiled with eager's message") {
    const Tensor i = ones({2, 2}, DType::I32), f = ones({2, 2}), b = ones({2, 2}, DType::Bool);
    auto mm = compile([](Tensor x, Tensor y) { return matmul(x, y); },
                      {.name = "mm", .arg_names = {"x", "y"}});
    // i32 @ f32 promotes, as eagerly; bool is refused by matmul's own check.
    KILN_CHECK_CLOSE(mm(i, f), matmul(i, f), Tolerance{});
    CHECK(mm(i, f).dtype() == DType::F32);
    CHECK(same_error([&] { (void)mm(i, b); }, [&] { (void)matmul(i, b); }) ==
          "matmul: bool tensors cannot be multiplied, got i32 and bool");
    // Refused by the IR type rule (ir/infer.cpp), which tracing runs as eager dispatch does.
    auto diff = compile([](Tensor x, Tensor y) { return x - y; },
                        {.name = "diff", .arg_names = {"x", "y"}});
    CHECK(same_error([&] { (void)diff(b, b); }, [&] { (void)(b - b); }) ==
          "sub: subtracting bool tensors is not supported\n"
          "  hint: use logical_xor semantics via ne(a, b), or convert to an integer dtype first");
    auto probs =
        compile([](Tensor x) { return softmax(x, -1); }, {.name = "probs", .arg_names = {"x"}});
    CHECK(same_error([&] { (void)probs(i); }, [&] { (void)softmax(i, -1); }) ==
          "softmax: input must be a floating-point tensor (f32 or f64), got i32");
    auto pick = compile([](Tensor c, Tensor x) { return where(c, x, x * 2); },
                        {.name = "pick", .arg_names = {"c", "x"}});
    CHECK(same_error([&] { (void)pick(f, f); }, [&] { (void)where(f, f, f * 2); }) ==
          "where: condition must be a bool tensor, got f32");
    // The failed traces left no entries; good calls compile and run.
    KILN_CHECK_CLOSE(mm(f, f), full({2, 2}, 2.0), Tolerance{});
    KILN_CHECK_CLOSE(diff(f, f), zeros({2, 2}), Tolerance{});
    CHECK(explain(diff, f, f).graphs == 1);
  }

  TEST_CASE("mismatched shapes fail compiled with eager's message, also after a first good call") {
    const Tensor x = ones({2, 3}), row = ones({3}), bad_row = ones({4});
    auto add = compile([](Tensor a, Tensor b) { return a + b; },
                       {.name = "add2", .arg_names = {"a", "b"}});
    KILN_CHECK_CLOSE(add(x, row), full({2, 3}, 2.0), Tolerance{});
    // The second call misses the guards and retraces; the trace fails in add's type rule.
    const std::string broadcast = same_error([&] { (void)add(x, bad_row); },  //
                                             [&] { (void)(x + bad_row); });
    CHECK(broadcast == "add: shapes [2,3] and [4] cannot be broadcast together (dim 1: 3 vs 4)");

    const Tensor rows = ones({2, 4}), short_weight = ones({3});
    auto norm = compile([](Tensor a, Tensor w) { return layer_norm(a, {4}, w); },
                        {.name = "norm", .arg_names = {"a", "w"}});
    const std::string weight = same_error([&] { (void)norm(rows, short_weight); },
                                          [&] { (void)layer_norm(rows, {4}, short_weight); });
    CHECK(weight == "layer_norm: weight must be f32[4], got f32[3]");

    const Tensor wider = ones({2, 4});
    const std::vector<Tensor> pair = {x, wider};
    auto join = compile([](std::vector<Tensor> parts) { return cat(parts, 0); },
                        {.name = "join", .arg_names = {"parts"}});
    const std::string joined = same_error([&] { (void)join(pair); },  //
                                          [&] { (void)cat(pair, 0); });
    CHECK(joined == "cat: tensor 1 has shape [2,4], expected [2,3] except at dim 0");

    const Tensor batch2 = ones({2, 3, 4}), batch5 = ones({5, 4, 2});
    auto mm = compile([](Tensor a, Tensor b) { return matmul(a, b); },
                      {.name = "mm2", .arg_names = {"a", "b"}});
    const std::string batch = same_error([&] { (void)mm(batch2, batch5); },  //
                                         [&] { (void)matmul(batch2, batch5); });
    CHECK(batch ==
          "matmul: batch dims of [2,3,4] and [5,4,2] cannot be broadcast together (batch dim 0: 2 "
          "vs 5)");
    // The failed retrace left no entry; the first one still runs.
    KILN_CHECK_CLOSE(add(x, row), full({2, 3}, 2.0), Tolerance{});
    CHECK(explain(add, x, row).graphs == 1);
  }

  TEST_CASE("an allocation that fails is the allocator's error, compiled as eagerly" *
            doctest::skip(kSanitized)) {
    // [2^22, 2^21] f32 is 2^45 bytes (32 TiB): under execute.cpp's 2^46-byte limit on one
    // tensor, so aligned_alloc is asked, and it fails with 1 TiB of address space to spare.
    const Tensor tall = zeros({int64_t{1} << 22, 1}), wide = zeros({1, int64_t{1} << 21});
    auto add = compile([](Tensor x, Tensor y) { return x + y; },
                       {.name = "outer_sum", .arg_names = {"x", "y"}});
    std::string compiled, eager;
    {
      AddressSpaceLimit limit(rlim_t{1} << 40);
      compiled = error_message([&] { (void)add(tall, wide); });
      eager = error_message([&] { (void)(tall + wide); });
    }
    CHECK(compiled == "out of memory: could not allocate 35184372088832 bytes for a tensor");
    CHECK(compiled == eager);
    KILN_CHECK_CLOSE(add(ones({2, 1}), ones({1, 3})), full({2, 3}, 2.0), Tolerance{});
  }
}

}  // namespace kiln::test
