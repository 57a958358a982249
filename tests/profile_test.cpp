// The per-step profile (kiln/profile.h, runtime/profile.h): a step known to dominate
// dominates, step times add up to the calls' time, the trace is Chrome trace-event JSON with
// the pool's threads as tracks, and off means nothing is recorded.
#include "runtime/profile.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "check.h"
#include "kiln/kiln.h"
#include "lowering/backend.h"

namespace kiln::test {

TEST_SUITE("compile" * doctest::skip(!lower::backend(lower::BackendKind::Cpu).available)) {
  TEST_CASE("the profile: the GEMM dominates, steps add up to the calls, a trace per thread") {
    struct Threads {
      int before = num_threads();
      ~Threads() { set_num_threads(before); }
    } restore;
    // Two steps: tanh (a pointwise kernel) and a GEMM 4096 times its work. Timed at one
    // thread, so that waking the pool on a busy machine cannot swamp the small kernel.
    set_num_threads(1);
    auto f = compile([](Tensor x, Tensor w) { return matmul(tanh(x), w); }, {.name = "prof"});
    Tensor x = randn({64, 256}), w = randn({256, 4096}) * 0.06;
    const Tensor want = matmul(tanh(x), w);
    (void)f(x, w);  // compiled before profiling starts
    runtime::profile::Summary s;
    std::string table;
    {
      ProfileScope scope;
      CHECK(profiling());
      for (int i = 0; i < 20; ++i) KILN_CHECK_CLOSE(f(x, w), want, {1e-4, 1e-4});
      s = runtime::profile::summary();
      table = scope.table();
    }
    // The trace, at two threads: the GEMM's work shows on both of the pool's tracks.
    set_num_threads(2);
    const auto path = std::filesystem::temp_directory_path() /
                      ("kiln_profile_test_" + std::to_string(getpid()) + ".json");
    {
      ProfileScope scope;
      for (int i = 0; i < 20; ++i) (void)f(x, w);
      scope.write_trace(path.string());
    }
    CHECK(!profiling());
    REQUIRE(s.steps.size() == 2);
    CHECK(s.calls == 20);
    const runtime::profile::StepTotal &gemm = s.steps[0];
    CHECK(gemm.info.kind == "gemm");
    CHECK(gemm.info.name == "prof.k1");
    CHECK(gemm.calls == 20);
    CHECK(gemm.info.flops == doctest::Approx(2.0 * 64 * 256 * 4096));
    CHECK(gemm.info.bytes == 4 * (64 * 256 + 256 * 4096 + 64 * 4096));  // A, B, C
    CHECK(s.steps[1].info.kind == "kernel");
    CHECK(gemm.total_ns > 4 * s.steps[1].total_ns);
    int64_t steps_ns = 0;
    for (const auto &t : s.steps) steps_ns += t.total_ns;
    CHECK(steps_ns <= s.call_ns);
    CHECK(static_cast<double>(steps_ns) >= 0.9 * static_cast<double>(s.call_ns));
    CHECK_MESSAGE(table.starts_with("kiln profile: 1 compiled function(s), 20 call(s), "), table);
    CHECK(table.find("\nprof.k1 ") != std::string::npos);
    CHECK(table.find("gemm") != std::string::npos);

    const std::string text = read_bytes(path);
    std::filesystem::remove(path);
    const nlohmann::json trace = nlohmann::json::parse(text);
    std::set<int> thread_tids;
    int steps = 0, calls = 0, names = 0;
    for (const auto &e : trace.at("traceEvents")) {
      if (e.at("ph") == "M") {
        names += e.at("name") == "thread_name";
        continue;
      }
      CHECK(e.at("ph") == "X");
      CHECK(e.at("dur").get<double>() >= 0);
      steps += e.at("cat") == "step";
      calls += e.at("cat") == "call";
      if (e.at("cat") == "thread" && e.at("name") == "prof.k1")
        thread_tids.insert(e.at("tid").get<int>());
    }
    CHECK(steps == 40);
    CHECK(calls == 20);
    CHECK(names >= 2);
    CHECK(thread_tids.size() == 2);  // the GEMM split over both of the pool's threads

    // Off: nothing is recorded.
    runtime::profile::reset();
    (void)f(x, w);
    CHECK(runtime::profile::summary().calls == 0);
    CHECK(error_message([] { write_profile_trace("/nonexistent-folder/trace.json"); }) ==
          "profile: cannot write the trace to '/nonexistent-folder/trace.json': No such file or "
          "directory");
  }
}

}  // namespace kiln::test
