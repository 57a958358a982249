// The differential fuzzer as a test: a fixed batch of seeded programs must run the same
// eagerly and compiled; and the shrinker must reduce a failing program to its core.
#include <doctest/doctest.h>

#include <algorithm>

#include "fuzz/differential.h"
#include "fuzz/program_gen.h"
#include "fuzz/shrink.h"
#include "ir/parser.h"
#include "ir/pipeline.h"
#include "ir/printer.h"

namespace kiln::test::fuzz {

// Seeds 1..300. Seeds known to fail because of a kiln bug are listed in the report of the
// change that found them and are not silently skipped here.
constexpr uint64_t kFirstSeed = 1;
constexpr int kPrograms = 300;

TEST_SUITE("fuzz") {
  TEST_CASE("generation is deterministic for a seed and always verifies") {
    for (uint64_t seed : {1u, 2u, 77u}) {
      CAPTURE(seed);
      CHECK(ir::print(generate(seed)) == ir::print(generate(seed)));
    }
    CHECK(ir::print(generate(1)) != ir::print(generate(2)));
  }

  TEST_CASE("300 random programs run the same eagerly and compiled") {
    int failures = 0;
    for (uint64_t seed = kFirstSeed; seed < kFirstSeed + kPrograms; ++seed) {
      std::optional<Failure> f = fuzz_one(seed);
      if (!f) continue;
      ++failures;
      FAIL_CHECK(f->report);
    }
    CHECK(failures == 0);
  }

  TEST_CASE("the replay hint names the kiln-opt command that replays the failing comparison") {
    // The optimised graph agrees with eager in the reference evaluator: only the CPU backend
    // can differ, so the hint is --check after the pipeline.
    const ir::Graph agrees = ir::parse(
        "graph @g(%x: f32[8]) -> f32[8]\n"
        "    where [device=cpu] {\n"
        "  %0: f32[8] = exp %x\n"
        "  return %0\n"
        "}\n");
    CHECK(replay_commands(agrees, 3) ==
          fmt::format("replay (save the IR below as repro.kir): the optimised graph gives eager's "
                      "answer in\nthe reference evaluator, so the CPU backend differs from it; "
                      "this prints how much:\n"
                      "  build/tools/kiln-opt repro.kir --passes={} --check --seed=3\n",
                      ir::default_pipeline()));
    // Eager itself fails (integer fmod by one of randint(0, 10)'s zeros): --run shows it.
    const ir::Graph throws = ir::parse(
        "graph @g(%x: i32[64], %y: i32[64]) -> i32[64]\n"
        "    where [device=cpu] {\n"
        "  %0: i32[64] = fmod %x, %y\n"
        "  return %0\n"
        "}\n");
    REQUIRE(differential_check(throws, 3) == "eager replay threw: fmod: integer division by zero");
    CHECK(replay_commands(throws, 3) ==
          fmt::format("replay (save the IR below as repro.kir; the two runs should agree):\n"
                      "  build/tools/kiln-opt repro.kir --run --seed=3\n"
                      "  build/tools/kiln-opt repro.kir --passes={} --run --seed=3\n",
                      ir::default_pipeline()));
  }

  TEST_CASE("the shrinker reduces a deliberately failing predicate to a small graph") {
    // "Fails" while some node is an exp: the core is one exp of an input (plus the guards
    // the generator put in front of it, which the shrinker forwards away).
    auto has_exp = [](const ir::Graph &g) {
      return std::any_of(g.nodes.begin(), g.nodes.end(),
                         [](const ir::Node &n) { return n.op == OpKind::Exp; });
    };
    uint64_t seed = 0;
    ir::Graph g;
    for (seed = 1; !has_exp(g) || g.nodes.size() < 10; ++seed) g = generate(seed);
    CAPTURE(seed);
    ir::Graph small = shrink(g, has_exp);
    CHECK(has_exp(small));
    CHECK(small.nodes.size() <= 2);
    CHECK(small.outputs.size() == 1);
    INFO(ir::print(small));
    CHECK(small.nodes.size() < g.nodes.size());
  }
}

}  // namespace kiln::test::fuzz
