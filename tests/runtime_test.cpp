// Runtime pieces on their own: thread pool, caching allocator, layouts, random numbers.
#include <doctest/doctest.h>

#include <atomic>
#include <vector>

#include "check.h"
#include "ir/layout.h"
#include "runtime/allocator.h"
#include "runtime/random.h"
#include "runtime/thread_pool.h"

namespace kiln::runtime {

TEST_SUITE("runtime") {
  TEST_CASE("parallel_for visits every index exactly once") {
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      for (int64_t n : {0, 1, 7, 1000, 100003}) {
        for (int64_t grain : {1, 64, 1 << 20}) {
          std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
          parallel_for(n, grain, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) hits[static_cast<size_t>(i)]++;
          });
          bool once = true;
          for (auto &h : hits) once = once && h.load() == 1;
          CHECK_MESSAGE(once, "threads=", threads, " n=", n, " grain=", grain);
        }
      }
    }
    set_num_threads(2);
  }

  TEST_CASE("parallel_for: back-to-back jobs of different sizes, each index once, no hang") {
    // A worker late from one job must not claim a chunk of the next: it ran a chunk twice,
    // and when one count of a job dropped past zero the caller waited forever (kiln-bench at
    // 2 threads hung in an autotune GEMM). More threads than cores make late workers common.
    const int before = num_threads();
    set_num_threads(4);
    std::vector<std::atomic<int>> hits(64);
    bool once = true;
    for (int job = 0; job < 20000 && once; ++job) {
      const int64_t n = 1 + job % 37;  // 1 to 37 chunks of one index
      for (int64_t i = 0; i < n; ++i) hits[static_cast<size_t>(i)] = 0;
      parallel_for(n, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) hits[static_cast<size_t>(i)]++;
      });
      for (int64_t i = 0; i < n; ++i) once = once && hits[static_cast<size_t>(i)].load() == 1;
      CHECK_MESSAGE(once, "job ", job, " of ", n, " indices");
    }
    set_num_threads(before);
  }

  TEST_CASE("parallel_for propagates exceptions and runs nested loops inline") {
    set_num_threads(2);
    CHECK(test::error_message([] {
            parallel_for(100, 1, [](int64_t lo, int64_t) {
              if (lo >= 50) fail("chunk at {} failed", 50);
            });
          }) == "chunk at 50 failed");
    std::atomic<int64_t> total{0};
    parallel_for(8, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i)
        parallel_for(10, 1, [&](int64_t a, int64_t b) { total += b - a; });
    });
    CHECK(total.load() == 80);
    CHECK(test::error_message([] { set_num_threads(0); }) ==
          "set_num_threads: thread count must be at least 1, got 0");
  }

  TEST_CASE("the caching allocator reuses freed blocks") {
    void *a = allocate(1 << 20);
    release(a, 1 << 20);
    void *b = allocate((1 << 20) - 100);  // same size class
    CHECK(a == b);
    CHECK(reinterpret_cast<uintptr_t>(b) % 64 == 0);
    const int64_t live = allocator_stats().live_bytes;
    release(b, (1 << 20) - 100);
    CHECK(allocator_stats().live_bytes == live - (1 << 20));
    empty_cache();
    CHECK(allocator_stats().cached_bytes == 0);
  }

  TEST_CASE("reshape is a view exactly when the strides allow it") {
    ir::Layout c = ir::Layout::contiguous({3, 4});
    CHECK(ir::reshape_layout(c, Shape{12})->strides == Shape{1});
    ir::Layout t = ir::permute_layout(c, std::vector<int64_t>{1, 0});  // [4,3] strides [1,4]
    CHECK_FALSE(ir::reshape_layout(t, Shape{12}).has_value());
    auto split = ir::reshape_layout(t, Shape{2, 2, 3});
    REQUIRE(split.has_value());
    CHECK(split->strides == Shape{2, 1, 4});
    auto with_unit = ir::reshape_layout(t, Shape{4, 1, 3});  // a size-1 dim's stride is free
    REQUIRE(with_unit.has_value());
    CHECK(with_unit->strides[0] == 1);
    CHECK(with_unit->strides[2] == 4);
    ir::Layout b = ir::broadcast_layout(ir::Layout::contiguous({3, 1}), Shape{2, 3, 4});
    CHECK(b.strides == Shape{0, 1, 0});
    ir::Layout s = ir::slice_layout(c, 1, 1, 4, 2);
    CHECK(s.sizes == Shape{3, 2});
    CHECK(s.offset == 1);
  }

  TEST_CASE("philox matches the Random123 known answer and uniforms stay in [0, 1)") {
    auto r = philox(0, 0);
    CHECK(r[0] == 0x6627e8d5u);
    CHECK(r[1] == 0xe169c58du);
    CHECK(r[2] == 0xbc57ac4cu);
    CHECK(r[3] == 0x9b00dbd8u);
    for (uint64_t i = 0; i < 10000; ++i) {
      double u = uniform01(42, i);
      CHECK((u >= 0.0 && u < 1.0));
    }
  }
}

}  // namespace kiln::runtime
