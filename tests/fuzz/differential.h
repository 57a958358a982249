// The differential check: a graph replayed eagerly through dispatch() against compile() of
// that same replay, on the inputs `kiln-opt --run --seed=N` would give it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/kiln.h"
#include "program_gen.h"
#include "runtime/array.h"

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

// Compiles g (an optimised graph) to an Artifact for the current target at default Choices
// and runs it loaded directly and loaded from its serialized bytes, on the same inputs: the
// outputs must be bit-identical, and the bytes must read back to the same key and serialize
// to themselves. "" when they are, else what differs.
[[nodiscard]] std::string artifact_round_trip(const ir::Graph &g,
                                              std::span<const runtime::Array> inputs);

struct CheckOptions {
  // Backend::Cpu runs generated code; Backend::Reference runs the optimised graph in the
  // reference evaluator.
  std::vector<Backend> backends = {Backend::Cpu, Backend::Reference};
  std::vector<int> threads = {1, 2};  // pool sizes, each for eager and every backend
  // differential_check only: then the gradients of its float outputs with respect to its
  // float inputs, eager against compiled (the backward traced into the graph).
  bool gradients = true;
};

using Program = std::function<std::vector<Tensor>(std::vector<Tensor>)>;
// A further check at Backend::Cpu given eager's outputs: "" or what differs.
using ExtraCheck = std::function<std::string(const std::vector<Tensor> &want)>;

// Runs fn eagerly at each thread count (each against the first), then through compile() for
// each backend and thread count, static and dynamic, each entry called twice, with the IR
// verifier on; output i is held to tols[i]. "" when all agree, else the first difference;
// an eager failure reads "eager replay threw: ...". A compile that hit an internal error
// and ran eagerly (with a warning) differs too.
[[nodiscard]] std::string check_program(const Program &fn, const std::vector<Tensor> &inputs,
                                        std::span<const Tolerance> tols,
                                        const CheckOptions &options, const ExtraCheck &extra = {});

// Replays g eagerly and through compile() (called twice: trace, then the guarded entry) on
// make_inputs(g, seed), for each backend and thread count, static and dynamic, with the IR
// verifier on before and after every pass. "" when every output matches eager's at the
// first thread count, else the first difference. An output is held to the loosest
// tolerance of the float values it is computed from.
[[nodiscard]] std::string differential_check(const ir::Graph &g, uint64_t seed,
                                             const CheckOptions &options = {});

// The kiln-opt commands that replay a failing check of g at seed. compile() is the default
// pipeline, then the CPU backend: when the optimised graph still gives eager's answer in the
// reference evaluator, the backend is what differs and `--check` compares the two on it;
// otherwise a pass (or eager) is at fault and `--run` before and after the pipeline shows it.
// A failure seen only at 2 threads gets KILN_NUM_THREADS=2 in front.
[[nodiscard]] std::string replay_commands(const ir::Graph &g, uint64_t seed);

// The check message's kind ("internal error", "eager throws", "compiled throws",
// "mismatch"): shrinking keeps it.
[[nodiscard]] std::string_view failure_kind(std::string_view what);

struct Failure {
  uint64_t seed = 0;
  std::string what;    // the mismatch of the reduced program
  ir::Graph reduced;   // the shrunk program, still failing
  std::string report;  // seed, mismatch, kiln-opt commands and the reduced IR text
};

// Generates the program for seed and checks it; on a mismatch shrinks it (shrink.h) and
// describes the reproducer. nullopt when the program passes.
[[nodiscard]] std::optional<Failure> fuzz_one(uint64_t seed, const GenOptions &options = {});

}  // namespace kiln::test::fuzz
