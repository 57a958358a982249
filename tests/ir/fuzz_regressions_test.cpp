// Inputs the parser fuzzer (tests/fuzz_ir) once crashed on: each must now parse or be
// refused with a kiln::Error, never crash or overflow (the sanitizer build runs this too).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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
    CHECK_THROWS_WITH_AS((void)kiln::numel(std::vector<int64_t>{int64_t{1} << 40, int64_t{1} << 40}),
                         "shape [1099511627776,1099511627776] has too many elements: the count "
                         "overflows a 64-bit integer",
                         kiln::Error);
  }
}
