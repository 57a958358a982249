// The differential check: a graph replayed eagerly through dispatch() against compile() of
// that same replay, on the inputs `kiln-opt --run --seed=N` would give it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/kiln.h"
#include "program_gen.h"

namespace kiln::test::fuzz {

// Inputs for g exactly as `kiln-opt --run --seed=seed` makes them: after manual_seed(seed),
// in input order, randn for floats, randint(0, 10) for integers and rand() < 0.5 for bool.
[[nodiscard]] std::vector<Tensor> make_inputs(const ir::Graph &g, uint64_t seed);

// Runs g node by node through dispatch(): eagerly, or recorded when called inside compile().
[[nodiscard]] std::vector<Tensor> replay(const ir::Graph &g, std::span<const Tensor> inputs);

struct Tolerance {
  double atol = 0.0;
  double rtol = 0.0;
};

// f32: atol 1e-4, rtol 1e-4 (the eager f32 exp/tanh/erf/sigmoid are polynomials that
// fold-constants replaces by libm in double, and decompose reorders softmax, the norms and
// var); f64: 1e-9 both; integers and bool exact.
[[nodiscard]] Tolerance tolerance(DType dtype);

// "" when got matches want (dtype, shape, values within tol; NaN matches NaN, infinities
// exactly), else what differs.
[[nodiscard]] std::string mismatch(const Tensor &got, const Tensor &want, Tolerance tol);

// Replays g eagerly and through compile() (called twice: trace, then the guarded entry) on
// make_inputs(g, seed). "" when every output matches, else the first difference. An output
// is held to the loosest tolerance of the float values it is computed from. Backend::Reference
// runs the optimised graph in the reference evaluator instead of generated code.
[[nodiscard]] std::string differential_check(const ir::Graph &g, uint64_t seed,
                                             Backend backend = Backend::Cpu);

// The kiln-opt commands that replay a failing check of g at seed. compile() is the default
// pipeline, then the CPU backend: when the optimised graph still gives eager's answer in the
// reference evaluator, the backend is what differs and `--check` compares the two on it;
// otherwise a pass (or eager) is at fault and `--run` before and after the pipeline shows it.
[[nodiscard]] std::string replay_commands(const ir::Graph &g, uint64_t seed);

struct Failure {
  uint64_t seed = 0;
  std::string what;   // the mismatch of the reduced program
  ir::Graph reduced;  // the shrunk program, still failing
  std::string report; // seed, mismatch, kiln-opt commands and the reduced IR text
};

// Generates the program for seed and checks it; on a mismatch shrinks it (shrink.h) and
// describes the reproducer. nullopt when the program passes.
[[nodiscard]] std::optional<Failure> fuzz_one(uint64_t seed, const GenOptions &options = {});

}  // namespace kiln::test::fuzz
