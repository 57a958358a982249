// The differential fuzzer as a test: a fixed batch of seeded programs must run the same
// eagerly and compiled; and the shrinker must reduce a failing program to its core.
#include "fuzz/differential.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "fuzz/frontend_calls.h"
#include "fuzz/program_gen.h"
#include "fuzz/shrink.h"
#include "ir/infer.h"
#include "ir/parser.h"
#include "ir/pipeline.h"
#include "ir/printer.h"
#include "ir/settings.h"
#include "tracer/trace.h"

namespace kiln::test::fuzz {
namespace {

// The value v reads through converts, reshapes and permutes.
ir::ValueId source_of(const ir::Graph &g, ir::ValueId v) {
  for (auto n = g.nodes.rbegin(); n != g.nodes.rend(); ++n)
    if (n->result == v &&
        (n->op == OpKind::Convert || n->op == OpKind::Reshape || n->op == OpKind::Permute))
      v = n->operands[0];
  return v;
}

// True when g broadcasts a reduction without keepdim back to its input's shape where the
// right alignment puts the kept dims elsewhere: sub(x, max(x, 1)) for x [3,3].
bool reduces_back_misaligned(const ir::Graph &g) {
  for (const ir::Node &b : g.nodes) {
    if (b.op != OpKind::Broadcast) continue;
    const ir::ValueId r = source_of(g, b.operands[0]);
    for (const ir::Node &n : g.nodes) {
      if (n.result != r || op_info(n.op).category != OpCategory::Reduce ||
          n.attrs.get_bool("keepdim"))
        continue;
      const TensorType &x = g.type(n.operands[0]);
      if (x.shape != g.type(b.result).shape || g.type(r).shape.empty()) continue;
      const std::vector<int64_t> reduced = reduced_dims(n.op, x, n.attrs);
      // Misaligned unless every reduced dim is leading (then the kept dims are the suffix).
      for (size_t i = 0; i < reduced.size(); ++i)
        if (reduced[i] != static_cast<int64_t>(i)) return true;
    }
  }
  return false;
}

bool has_op(const ir::Graph &g, OpKind op) {
  return std::any_of(g.nodes.begin(), g.nodes.end(), [&](const ir::Node &n) { return n.op == op; });
}

bool matmul_with_empty_operand(const ir::Graph &g) {
  return std::any_of(g.nodes.begin(), g.nodes.end(), [&](const ir::Node &n) {
    return n.op == OpKind::Matmul &&
           (numel(g.type(n.operands[0]).shape) == 0 || numel(g.type(n.operands[1]).shape) == 0);
  });
}

}  // namespace

// Seeds 1..150 (each program runs at two backends and two thread counts, static and
// dynamic: about 45 s on two cores); kiln-fuzz runs more. Seeds known to fail because of a
// kiln bug are listed in the report of the change that found them and are not silently
// skipped here.
constexpr uint64_t kFirstSeed = 1;
constexpr int kPrograms = 150;

TEST_SUITE("fuzz") {
  TEST_CASE("generation is deterministic for a seed and always verifies") {
    for (uint64_t seed : {1u, 2u, 77u}) {
      CAPTURE(seed);
      CHECK(ir::print(generate(seed)) == ir::print(generate(seed)));
    }
    CHECK(ir::print(generate(1)) != ir::print(generate(2)));
  }

  TEST_CASE("the generator makes the shapes of code that once hid bugs") {
    int misaligned = 0, empty_matmul = 0, slices = 0;
    for (uint64_t seed = 1; seed <= 300; ++seed) {
      const ir::Graph g = generate(seed);
      misaligned += reduces_back_misaligned(g);
      empty_matmul += matmul_with_empty_operand(g);
      slices += has_op(g, OpKind::Slice);
    }
    // Counts for seeds 1..300; a generator change that loses a pattern fails here.
    CHECK(misaligned >= 20);
    CHECK(empty_matmul >= 5);
    CHECK(slices >= 100);
  }

  TEST_CASE("the differential check verifies the IR before and after every pass") {
    // %0 claims the wrong type; the verifier refuses it, and only the verifier looks.
    ir::Graph bad;
    ir::ValueId x = bad.add_input("x", {DType::F32, {4}});
    bad.outputs.push_back(bad.add_node_typed(OpKind::Neg, {x}, {}, {DType::F32, {5}}));
    const bool before = verify_passes();
    set_verify_passes(false);
    ir::Graph copy = bad;
    CHECK_NOTHROW(ir::run_pipeline(copy, "cse"));
    set_verify_passes(true);
    copy = bad;
    CHECK_THROWS_AS(ir::run_pipeline(copy, "cse"), Error);
    set_verify_passes(false);
    const ir::Graph exp = ir::parse(
        "graph @g(%x: f32[8]) -> f32[8]\n    where [device=cpu] {\n  %0: f32[8] = exp %x\n  return "
        "%0\n}\n");
    CHECK(differential_check(exp, 1).empty());  // turns it on for its compiles
    CHECK(!verify_passes());                    // and restores it
    set_verify_passes(before);
  }

  TEST_CASE("a compile that hits an internal error and runs eagerly is a finding") {
    // A failed check while tracing, as a bug in kiln would raise it: compile() runs the guard
    // set eagerly with a warning, so the answers agree and only the warning tells.
    const Program fn = [](std::vector<Tensor> xs) {
      KILN_CHECK(tracer::active() == nullptr, "injected for the test");
      return std::vector<Tensor>{xs[0] + 1.0};
    };
    // Not strict (the test binary is): the warning is all that tells.
    set_strict_internal_errors(false);
    const std::string what = check_program(fn, {ones({3})}, std::vector<Tolerance>{{}},
                                           {.backends = {Backend::Cpu}, .threads = {1}});
    set_strict_internal_errors(true);
    CHECK(failure_kind(what) == "internal error");
    CHECK(what.find("ran eagerly after an internal error") != std::string::npos);
    // Strict: the error itself.
    const std::string strict = check_program(fn, {ones({3})}, std::vector<Tolerance>{{}},
                                             {.backends = {Backend::Cpu}, .threads = {1}});
    CHECK(failure_kind(strict) == "internal error");
  }

  TEST_CASE(
      "40 random linear and matmul calls (0-size dims too) run the same eagerly and compiled") {
    int failures = 0;
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      if (std::string what = frontend_check(seed); !what.empty()) {
        ++failures;
        FAIL_CHECK("seed " << seed << ": " << what);
      }
    }
    CHECK(failures == 0);
  }

  TEST_CASE("150 random programs run the same eagerly and compiled") {
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
    // the generator put in front of it, which the shrinker forwards away, and the few nodes
    // between it and an output whose type no operand or input has: seed 6 keeps a convert
    // before it and a broadcast and a comparison after it).
    auto has_exp = [](const ir::Graph &g) {
      return std::any_of(g.nodes.begin(), g.nodes.end(),
                         [](const ir::Node &n) { return n.op == OpKind::Exp; });
    };
    uint64_t seed = 0;
    ir::Graph g;
    for (seed = 1; !has_exp(g) || g.nodes.size() < 10; ++seed) g = generate(seed);
    CAPTURE(seed);
    ir::Graph small = shrink(g, has_exp);
    INFO(ir::print(small));
    CHECK(has_exp(small));
    CHECK(small.nodes.size() <= 4);
    CHECK(small.outputs.size() == 1);
    CHECK(small.nodes.size() < g.nodes.size());
  }
}

}  // namespace kiln::test::fuzz
