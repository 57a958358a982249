// kiln-fuzz: the differential fuzzer on the command line. Runs seeded random programs
// eagerly and through compile(), prints a summary and each shrunk reproducer; exit 1 on any.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "ir/diag.h"
#include "ir/printer.h"
#include "tests/fuzz/differential.h"

namespace {

constexpr const char *kUsage =
    "usage: kiln-fuzz [--seed N] [--count N | --minutes M] [--print]\n"
    "  runs programs for seeds N, N+1, ... (default 1, 1000 programs), each eagerly and\n"
    "  compiled; prints each mismatch shrunk to a reproducer and exits 1 if there was one;\n"
    "  --print also prints every program before it runs\n";

struct Options {
  uint64_t seed = 1;
  int64_t count = 1000;
  double minutes = 0;  // > 0: run until time is up instead of `count` programs
  bool print = false;
};

Options parse_args(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) kiln::fail("kiln-fuzz: {} needs a value\n{}", a, kUsage);
      return argv[++i];
    };
    try {
      if (a == "--seed") o.seed = std::stoull(value());
      else if (a == "--count") o.count = std::stoll(value());
      else if (a == "--minutes") o.minutes = std::stod(value());
      else if (a == "--print") o.print = true;
      else if (a == "--help" || a == "-h") {
        std::cout << kUsage;
        std::exit(0);
      } else kiln::fail("kiln-fuzz: unexpected argument '{}'\n{}", a, kUsage);
    } catch (const std::logic_error &) {  // stoull and friends
      kiln::fail("kiln-fuzz: bad number for {}\n{}", a, kUsage);
    }
  }
  return o;
}

int run(const Options &o) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  int64_t programs = 0, failures = 0;
  for (uint64_t seed = o.seed;; ++seed) {
    if (o.minutes > 0 ? elapsed() >= o.minutes * 60 : programs >= o.count) break;
    ++programs;
    if (o.print)
      std::cout << "# seed " << seed << "\n" << kiln::ir::print(kiln::test::fuzz::generate(seed)) << std::flush;
    if (std::optional<kiln::test::fuzz::Failure> f = kiln::test::fuzz::fuzz_one(seed)) {
      ++failures;
      std::cout << "--- mismatch " << failures << "\n" << f->report << std::flush;
    }
  }
  std::cout << fmt::format("kiln-fuzz: {} program(s), seeds {}..{}, {} mismatch(es), {:.1f} s\n",
                           programs, o.seed, o.seed + programs - (programs > 0), failures,
                           elapsed());
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const kiln::Error &e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
}
