// libFuzzer target for the IR text parser and verifier (ir/parser.h, ir/verify.h).
// Contract under test: ir::parse(text, source) returns a verified Graph or throws
// kiln::Error -- it never crashes, hangs, leaks or aborts. A parsed graph must also round
// trip: print(parse(print(g))) == print(g). Build and run with tools/fuzz_parser.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "ir/diag.h"
#include "ir/graph.h"
#include "ir/parser.h"
#include "ir/printer.h"

namespace {

[[noreturn]] void round_trip_failure(const char *what, const std::string &first,
                                     const std::string &second) {
  std::fprintf(stderr,
               "parse_fuzzer: round trip failed: %s\n--- print(parse(input)) ---\n%s\n"
               "--- second ---\n%s\n",
               what, first.c_str(), second.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  kiln::ir::Graph g;
  try {
    g = kiln::ir::parse(text, "<fuzz>");
  } catch (const kiln::Error &) {
    return 0;  // a diagnosed user error is the expected outcome for most inputs
  }

  std::string printed = kiln::ir::print(g);
  std::string reprinted;
  try {
    kiln::ir::Graph again = kiln::ir::parse(printed, "<printed>");
    reprinted = kiln::ir::print(again);
  } catch (const kiln::Error &e) {
    round_trip_failure(("the printed graph does not parse: " + std::string(e.what())).c_str(),
                       printed, "");
  }
  if (reprinted != printed)
    round_trip_failure("print(parse(print(g))) differs from print(g)", printed, reprinted);
  return 0;
}
