// Inputs the parser fuzzer (tests/fuzz_ir) once crashed on: each must now parse or be
// refused with a kiln::Error, never crash or overflow (the sanitizer build runs this too);
// and programs the differential fuzzer (tests/fuzz) once failed on, shrunk, checked the same way.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz/differential.h"
#include "ir/diag.h"
#include "ir/parser.h"

TEST_SUITE("ir") {
  TEST_CASE("every saved fuzzer crash now parses or fails cleanly") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(KILN_SOURCE_ROOT) / "tests/fuzz_ir/crashes";
    int inputs = 0;
    for (const auto &entry : fs::directory_iterator(dir)) {
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      CAPTURE(entry.path().filename().string());
      ++inputs;
      std::string outcome = "parsed";
      try {
        (void)kiln::ir::parse(text.str(), entry.path().filename().string());
      } catch (const kiln::Error &e) {
        outcome = e.what();
      }
      CHECK(!outcome.empty());
    }
    CHECK(inputs >= 3);
  }

  TEST_CASE("a slice step near 2^63 has the right size") {
    kiln::ir::Graph g = kiln::ir::parse(
        "graph @f(%x: f32[5]) -> f32[1]\n    where [device=cpu] {\n"
        "  %0: f32[1] = slice[step=9223372036854775807] %x\n  return %0\n}\n");
    CHECK(g.type(g.outputs[0]).shape == std::vector<int64_t>{1});
  }

  TEST_CASE("shape arithmetic refuses to overflow") {
    CHECK_THROWS_WITH_AS(
        (void)kiln::numel(std::vector<int64_t>{int64_t{1} << 40, int64_t{1} << 40}),
        "shape [1099511627776,1099511627776] has too many elements: the count "
        "overflows a 64-bit integer",
        kiln::Error);
  }
}

TEST_SUITE("fuzz") {
  TEST_CASE("programs the differential fuzzer found run the same eagerly and compiled") {
    // kiln-fuzz's shrunk reproducers (issue 12: misaligned reductions in row kernels, and
    // fusion cycles through a view of a computed value), each with the seed of its inputs.
    struct Case {
      uint64_t seed;
      const char *what;
      const char *ir;
    };
    const Case cases[] = {
        {48,
         "std over the rows of a square input, broadcast back as NumPy does (along the other dim), "
         "then var",
         R"(
graph @fuzz(%x0: f32[5,5], %x1: f32[5,5]) -> f64[]
    where [device=cpu] {
  %0: f32[5] = std[dims=[1]] %x0
  %1: f64[5] = convert[dtype=f64] %0
  %2: f64[5,5] = broadcast[shape=[5,5]] %1
  %3: f64[5,5] = convert[dtype=f64] %x1
  %4: f64[5,5] = mul %3, %2
  %5: f64[] = var[dims=[-2,-1]] %4
  return %5
}
)"},
        {99,
         "sub(x, var(x, 1)) for x [5,5]: the reduced value lines up with dim 1, not the kept dim 0",
         R"(
graph @fuzz(%x0: f32[5,5]) -> f32[5,5]
    where [device=cpu] {
  %0: f32[5] = var[correction=0, dims=[1]] %x0
  %1: f32[5,5] = broadcast[shape=[5,5]] %0
  %2: f32[5,5] = sub %x0, %1
  return %2
}
)"},
        {1039, "var broadcast back misaligned, then a logsumexp row kernel over the sum",
         R"(
graph @fuzz(%x2: f32[2,2]) -> f32[4]
    where [device=cpu] {
  %0: f32[2] = var[correction=0, dims=[1]] %x2
  %1: f32[2,2] = broadcast[shape=[2,2]] %0
  %2: f32[2,2] = add %x2, %1
  %3: f32[2] = logsumexp[dims=[1]] %2
  %4: f32[2,1] = reshape[shape=[2,1]] %3
  %5: f32[2,2] = broadcast[shape=[2,2]] %4
  %6: f32[4] = reshape[shape=[4]] %5
  return %6
}
)"},
        {1149, "layer_norm whose weight is mean(x, 1) of the same square input",
         R"(
graph @fuzz(%x0: bool[5,5], %x2: f32[5]) -> f32[5,5]
    where [device=cpu] {
  %0: f32[5,5] = convert[dtype=f32] %x0
  %1: f32[5] = mean[dims=[1]] %0
  %2: f32[5,5] = layer_norm[eps=0.01] %0, %1, %x2
  return %2
}
)"},
        {77, "min(x, 1) of a square input compared with x, with the dead code the shrinker kept",
         R"(
graph @fuzz(%x0: bool[2], %x1: bool[1,2], %x2: i64[2,2], %x3: f32[3,2,3]) -> f32[3,2,2]
    where [device=cpu] {
  %0: f32[2,2] = convert[dtype=f32] %x2
  %1: f32[2] = min[dims=[1]] %0
  %2: f32[2,2] = broadcast[shape=[2,2]] %1
  %3: bool[2,2] = lt %0, %2
  %4: f32[2,2] = convert[dtype=f32] %3
  %5: f32[3,2,2] = broadcast[shape=[3,2,2]] %4
  %6: f32[3,2,2] = broadcast[shape=[3,2,2]] %4
  %7: f32[3,2,2] = broadcast[shape=[3,2,2]] %4
  %8: f32[2,1] = std[correction=0, dims=[-1], keepdim=true] %0
  %9: f32[2,2] = broadcast[shape=[2,2]] %8
  %10: bool[3,2,2] = le %5, %6
  %11: f32[2,3,2,4] = broadcast[shape=[2,3,2,4]] %8
  %12: f32[2] = min[dims=[1]] %9
  %13: f32[2,1] = reshape[shape=[2,1]] %12
  %14: f32[2,2] = broadcast[shape=[2,2]] %13
  %15: bool[] = any[dims=[-1]] %1
  %16: f32[2,0] = slice[dim=1, start=2, step=3] %0
  return %6
}
)"},
        {19, "relu(x) * select(relu(x), 0, 1) compared with relu(x): fusion formed a cycle",
         R"(
graph @fuzz(%x1: f32[3]) -> bool[3]
    where [device=cpu] {
  %0: f32[3] = relu %x1
  %1: f32[1] = slice[start=1, stop=2] %0
  %2: f32[] = reshape[shape=[]] %1
  %3: f32[3] = broadcast[shape=[3]] %2
  %4: f32[3] = mul %0, %3
  %5: bool[3] = lt %0, %4
  return %5
}
)"},
        {158, "a select of relu(x) broadcast back and combined with relu(x) three times: a cycle",
         R"(
graph @fuzz(%x2: f32[4]) -> f32[4]
    where [device=cpu] {
  %0: f32[4] = relu %x2
  %1: f32[1] = slice[start=3] %0
  %2: f32[] = reshape[shape=[]] %1
  %3: f32[4] = broadcast[shape=[4]] %2
  %4: f32[4] = maximum %3, %0
  %5: f32[4] = minimum %0, %4
  %6: f32[4] = add %x2, %5
  %7: f32[4] = maximum %x2, %6
  return %7
}
)"},
    };
    for (const Case &c : cases) {
      CAPTURE(c.seed);
      CAPTURE(c.what);
      CHECK(kiln::test::fuzz::differential_check(kiln::ir::parse(c.ir + 1), c.seed) == "");
    }
  }
}
