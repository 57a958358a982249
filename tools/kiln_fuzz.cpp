// kiln-fuzz: the differential fuzzer on the command line. Each program runs in a forked
// child (the parent never starts kiln's runtime, so forking is safe), so an abort, a crash
// or a hang is a finding like a mismatch; each finding is shrunk and printed; exit 1 on any.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>

#include "ir/diag.h"
#include "ir/pipeline.h"
#include "ir/printer.h"
#include "ir/settings.h"
#include "tests/fuzz/differential.h"
#include "tests/fuzz/frontend_calls.h"
#include "tests/fuzz/shrink.h"
#include "tools/cli.h"

namespace {

namespace fuzz = kiln::test::fuzz;

struct Options {
  uint64_t seed = 1;
  int64_t count = 1000;
  double minutes = 0;  // > 0: run until time is up instead of `count` programs
  unsigned timeout = 120;
  bool no_fork = false;
  bool print = false;
};

kiln::cli::Parser make_parser(Options &o) {
  namespace cli = kiln::cli;
  cli::Parser p(
      "kiln-fuzz", "kiln-fuzz [--seed=N] [--count=N | --minutes=M] [--timeout=S] [--no-fork]",
      "Runs random programs for seeds N, N+1, ..., each eagerly and compiled (backends cpu\n"
      "and reference, 1 and 2 threads, static and dynamic, the IR verifier on), and a random\n"
      "linear or matmul call through the API (0-size dims too); prints each finding shrunk\n"
      "to a reproducer. Each program runs in a child process, so an abort, a crash or a hang\n"
      "is a finding too.");
  p.option("--seed", "N", "the first seed (default 1)",
           [&o](std::string_view v) { o.seed = cli::parse_integer<uint64_t>(v, 0, UINT64_MAX); });
  p.option("--count", "N", "programs to run (default 1000)",
           [&o](std::string_view v) { o.count = cli::parse_integer<int64_t>(v, 0, INT64_MAX); });
  p.option("--minutes", "M", "run until M minutes are up instead of --count programs",
           [&o](std::string_view v) { o.minutes = cli::parse_number_above(v, 0); });
  p.option("--timeout", "S", "seconds a program may take before it is a finding (default 120)",
           [&o](std::string_view v) { o.timeout = cli::parse_integer<unsigned>(v, 1, 86400); });
  p.flag("--no-fork", "run the programs in this process (an abort then ends the run)", o.no_fork);
  p.flag("--print", "print every program before it runs", o.print);
  p.exit_codes({{cli::kExitOk, "no finding"},
                {cli::kExitCheckFailed, "one or more findings (each printed)"},
                {cli::kExitUsage, "usage error"},
                {cli::kExitInternal, "internal error (a bug in kiln-fuzz) or out of memory"}});
  return p;
}

std::string read_all(FILE *f) {
  std::string text;
  std::rewind(f);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return text;
}

// How a child ended: its exit status (0 pass, 1 finding) or the signal that ended it.
struct Child {
  int exit_code = -1;
  int signal = 0;
  std::string out;  // what the child wrote to its report
  std::string err;  // its stderr (kiln's internal-error line)
};

// Runs `body` in a forked child with `timeout` seconds to live; its return value is the
// child's exit status.
Child in_child(const std::function<int(FILE *report)> &body, unsigned timeout) {
  FILE *out = std::tmpfile(), *err = std::tmpfile();
  if (out == nullptr || err == nullptr) throw std::runtime_error("cannot create a temporary file");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    dup2(fileno(err), STDERR_FILENO);
    alarm(timeout);
    int rc = 3;
    try {
      rc = body(out);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "kiln-fuzz: child threw: %s\n", e.what());
    }
    std::fflush(nullptr);
    _exit(rc);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Child c;
  if (WIFEXITED(status)) c.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) c.signal = WTERMSIG(status);
  c.out = read_all(out);
  c.err = read_all(err);
  return c;
}

std::string first_lines(const std::string &text, int n) {
  size_t at = 0;
  for (int i = 0; i < n; ++i) {
    at = text.find('\n', at);
    if (at == std::string::npos) return text;
    ++at;
  }
  return text.substr(0, at);
}

// A program whose child died: shrunk (each candidate in its own child) while it still dies
// of the same signal.
std::string crash_report(uint64_t seed, const Child &first, unsigned timeout) {
  const kiln::ir::Graph g = fuzz::generate(seed);
  auto dies = [&](const kiln::ir::Graph &c) {
    return in_child([&](FILE *) { return fuzz::differential_check(c, seed).empty() ? 0 : 1; },
                    timeout);
  };
  const kiln::ir::Graph reduced = fuzz::shrink(
      g, [&](const kiln::ir::Graph &c) { return dies(c).signal == first.signal; }, 400);
  const Child last = dies(reduced);
  return fmt::format(
      "seed {}: the check died of signal {} ({}){}\n"
      "reduced from {} to {} instruction(s); the reduced program's stderr:\n{}\n"
      "replay (save the IR below as repro.kir):\n"
      "  KILN_VERIFY=1 build/tools/kiln-opt repro.kir --passes={} --check --seed={}\n{}",
      seed, first.signal, strsignal(first.signal),
      first.signal == SIGALRM ? fmt::format(": no result within {} s", timeout) : "",
      g.nodes.size(), reduced.nodes.size(), first_lines(last.err, 4), kiln::ir::default_pipeline(),
      seed, kiln::ir::print(reduced));
}

// One program: "" when it passes, else its report.
std::string check_one(uint64_t seed, const Options &o) {
  auto findings = [seed] {
    std::string report;
    if (std::optional<fuzz::Failure> f = fuzz::fuzz_one(seed)) report = f->report;
    if (std::string what = fuzz::frontend_check(seed); !what.empty())
      report += fmt::format("seed {}: frontend call {}\n", seed, what);
    return report;
  };
  auto body = [&](FILE *report) {
    const std::string text = findings();
    std::fputs(text.c_str(), report);
    return text.empty() ? 0 : 1;
  };
  if (o.no_fork) return findings();
  Child c = in_child(body, o.timeout);
  if (c.signal != 0) return crash_report(seed, c, o.timeout);
  if (c.exit_code == 0) return "";
  if (c.exit_code == 1) return c.out;
  return fmt::format("seed {}: the check exited with status {}:\n{}", seed, c.exit_code,
                     first_lines(c.err, 4));
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
      std::cout << "# seed " << seed << "\n" << kiln::ir::print(fuzz::generate(seed)) << std::flush;
    if (std::string report = check_one(seed, o); !report.empty()) {
      ++failures;
      std::cout << "--- finding " << failures << " (program " << programs << ")\n"
                << report << std::flush;
    }
  }
  std::cout << fmt::format("kiln-fuzz: {} program(s), seeds {}..{}, {} finding(s), {:.1f} s\n",
                           programs, o.seed, o.seed + programs - (programs > 0), failures,
                           elapsed());
  return failures == 0 ? kiln::cli::kExitOk : kiln::cli::kExitCheckFailed;
}

}  // namespace

int main(int argc, char **argv) {
  // Every program compiles, untuned: a cache hit or a search would test them, not kiln.
  kiln::set_cache_dir("");
  kiln::set_autotune_setting("off");
  Options o;
  kiln::cli::Parser parser = make_parser(o);
  parser.parse(argc, argv);
  return kiln::cli::run_main(parser, [&] { return run(o); });
}
