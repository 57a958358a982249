// kiln-opt: the command-line driver for compiler engineers. Reads IR text (a file or
// stdin), runs a pass pipeline, prints the result, its kernel groups or their kernel IR,
// evaluates it on seeded random inputs with the reference evaluator, or checks the CPU
// backend against it. Exit codes are tools/cli.h's; bad IR reads "file:line:col: error: ...".
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "frontend/build_program.h"
#include "ir/diag.h"
#include "ir/parser.h"
#include "ir/pipeline.h"
#include "ir/printer.h"
#include "ir/substitute_sizes.h"
#include "kiln/kiln.h"
#include "lowering/fusion.h"
#include "lowering/kernel_ir.h"
#include "lowering/schedule.h"
#include "runtime/evaluate.h"
#include "tools/cli.h"

namespace {

namespace cli = kiln::cli;

// IR text is small (a 100k-node graph prints to a few MB); past this it is not IR text.
constexpr size_t kMaxInputBytes = size_t{256} << 20;

struct Options {
  std::string input = "-";
  std::string passes;
  bool print = false, run = false, list = false, fuse = false, kernels = false, check = false;
  uint64_t seed = 0;
  std::vector<int64_t> sizes;  // --sizes: s0, s1, … in order
};

// "s0=4,s1=8" -> {4, 8}; symbols must come in order.
std::vector<int64_t> parse_sizes(std::string_view text) {
  std::vector<int64_t> sizes;
  for (const std::string &item : cli::split_list(text)) {
    const std::string want = fmt::format("s{}=", sizes.size());
    int64_t n = 0;
    const char *end = item.data() + item.size();
    const bool ok = item.starts_with(want) &&
                    std::from_chars(item.data() + want.size(), end, n).ptr == end && n >= 2;
    if (!ok) cli::usage_error("expected {}N with N >= 2, got '{}'", want, item);
    sizes.push_back(n);
  }
  return sizes;
}

// Every name in a pipeline must be a pass (a trailing `fuse` is --fuse).
void check_pass_names(std::string passes) {
  (void)kiln::lower::take_trailing_fuse(passes);
  const std::vector<std::string> known = kiln::ir::pass_names();
  for (const std::string &name : cli::split_list(passes))
    if (std::find(known.begin(), known.end(), name) == known.end())
      cli::usage_error("unknown pass '{}': expected one of {}", name, fmt::join(known, ", "));
}

cli::Parser make_parser(Options &o) {
  cli::Parser p("kiln-opt", "kiln-opt [options] [FILE.kir | -]",
                "Reads IR text from FILE (or stdin), runs the passes in order, then prints the IR\n"
                "(--print, the default) and/or evaluates it on seeded random inputs (--run).\n"
                "Symbolic sizes (s0, s1, ... as in dynamic-shape dumps) print as symbols; --run\n"
                "and --check bind them with --sizes (default 3 each).");
  p.option("--passes", "a,b,c", "run these passes in order (`fuse` last: as --fuse)",
           [&o](std::string_view v) {
             check_pass_names(std::string(v));
             o.passes = v;
           });
  p.flag("--print", "print the IR after the passes (the default)", o.print);
  p.flag("--fuse", "print the kernel groups fusion makes", o.fuse);
  p.flag("--kernels", "print the groups' kernel IR", o.kernels);
  p.flag("--run", "evaluate on seeded random inputs with the reference evaluator", o.run);
  p.flag("--check",
         "compile for the CPU backend, run it and the reference evaluator on the\n"
         "same seeded inputs, print the largest difference per output",
         o.check);
  p.option("--seed", "N", "seed of the random inputs (default 0)",
           [&o](std::string_view v) { o.seed = cli::parse_integer<uint64_t>(v, 0, UINT64_MAX); });
  p.option("--sizes", "s0=N,...", "bind symbolic sizes for --run and --check (N >= 2)",
           [&o](std::string_view v) { o.sizes = parse_sizes(v); });
  p.flag("--list-passes", "print the names of all passes and exit", o.list);
  p.positional([&o](std::string_view v) { o.input = v; });
  p.exit_codes({{cli::kExitOk, "success"},
                {cli::kExitCheckFailed, "--check: an output's shape or dtype differs"},
                {cli::kExitUsage, "usage error: unknown option, bad option value, unknown pass"},
                {cli::kExitBadInput,
                 "bad input: FILE cannot be read, is not IR text, does not parse or\n"
                 "verify, or kiln rejects it"},
                {cli::kExitInternal, "internal error (a bug in kiln) or out of memory"}});
  return p;
}

// The whole input as text; throws kiln::Error for what cannot be IR text (a folder, a
// device such as /dev/zero, a binary file, anything past kMaxInputBytes).
std::string read_input(const std::string &path) {
  const std::string name = path == "-" ? "<stdin>" : path;
  std::error_code ec;
  if (path != "-" && std::filesystem::is_directory(path, ec))
    kiln::fail("kiln-opt: cannot read '{}': it is a folder", path);
  FILE *file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) kiln::fail("kiln-opt: cannot read '{}': {}", path, std::strerror(errno));
  std::unique_ptr<FILE, int (*)(FILE *)> owner(file == stdin ? nullptr : file, &std::fclose);
  std::string text;
  std::array<char, 1 << 16> chunk;
  while (size_t n = std::fread(chunk.data(), 1, chunk.size(), file)) {
    if (const void *nul = std::memchr(chunk.data(), 0, n))
      kiln::fail("kiln-opt: '{}' is not IR text: NUL byte at offset {}", name,
                 text.size() + (static_cast<const char *>(nul) - chunk.data()));
    if (text.size() + n > kMaxInputBytes)
      kiln::fail("kiln-opt: '{}' is not IR text: larger than {} MiB", name, kMaxInputBytes >> 20);
    text.append(chunk.data(), n);
  }
  if (std::ferror(file)) kiln::fail("kiln-opt: cannot read '{}': {}", name, std::strerror(errno));
  return text;
}

kiln::Tensor random_input(const kiln::TensorType &t) {
  if (is_floating(t.dtype)) return kiln::randn(t.shape, t.dtype);
  if (t.dtype == kiln::DType::Bool) return kiln::rand(t.shape) < 0.5;
  return kiln::randint(0, 10, t.shape, t.dtype);
}

void print_summary(const std::string &name, const kiln::Tensor &t) {
  std::string line = fmt::format("{} = {}", name, t.str());
  if (is_floating(t.dtype()) && t.numel() > 0)
    line +=
        fmt::format("  (min {:.6g}, max {:.6g}, mean {:.6g})", kiln::min(t).item<double>(),
                    kiln::max(t).item<double>(), kiln::mean(t.to(kiln::DType::F64)).item<double>());
  std::cout << line << "\n";
}

kiln::Tensor as_tensor(const kiln::runtime::Array &a) {
  auto impl = std::make_shared<kiln::detail::TensorImpl>();
  static_cast<kiln::runtime::Array &>(*impl) = a;
  return kiln::Tensor(impl);
}

void print_kernels(const kiln::ir::Graph &g) {
  const kiln::lower::FusionPlan plan = kiln::lower::fuse(g);
  const std::vector<int64_t> witnesses = kiln::ir::witness_sizes(kiln::ir::kMaxSymbols, 0);
  // A symbolic graph is scheduled as a dynamic entry is: no streaming stores.
  bool symbolic = false;
  for (kiln::ir::ValueId v = 0; v < g.num_values(); ++v)
    for (int64_t d : g.type(v).shape)
      symbolic |= std::find(witnesses.begin(), witnesses.end(), d) != witnesses.end();
  int index = 0;
  const kiln::lower::GraphIndex graph_index(g);
  for (const kiln::lower::Group &group : plan.groups)
    if (group.kind != kiln::lower::GroupKind::Library)
      std::cout << kiln::ir::symbolize_text(
          kiln::lower::print_kernel(kiln::lower::schedule(g, graph_index, group,
                                                          fmt::format("{}.k{}", g.name, index++),
                                                          {.streaming = !symbolic})),
          witnesses, true);
}

// The CPU backend against the reference evaluator on the same inputs.
int check(const kiln::ir::Graph &g, const std::vector<kiln::runtime::Array> &inputs) {
  std::vector<kiln::runtime::Array> want = kiln::runtime::evaluate(g, inputs);
  std::vector<const kiln::runtime::Array *> pointers;
  for (const kiln::runtime::Array &a : inputs) pointers.push_back(&a);
  std::vector<kiln::runtime::Array> got = kiln::detail::build_program(g, {}).program->run(pointers);
  int status = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (got[i].type() != want[i].type()) {
      std::cout << fmt::format("output {}: expected {}, got {}\n", i, want[i].type().str(),
                               got[i].type().str());
      status = cli::kExitCheckFailed;
      continue;
    }
    std::vector<double> w = as_tensor(want[i]).to(kiln::DType::F64).tolist<double>();
    std::vector<double> c = as_tensor(got[i]).to(kiln::DType::F64).tolist<double>();
    double worst = 0;
    size_t at = 0;
    for (size_t k = 0; k < w.size(); ++k) {
      const bool both_nan = std::isnan(w[k]) && std::isnan(c[k]);
      const double d = both_nan || w[k] == c[k] ? 0.0 : std::abs(c[k] - w[k]);
      if (!(d <= worst)) worst = d, at = k;  // NaN against a number counts as worst
    }
    std::cout << fmt::format("output {}: {} elements, largest difference {:.3g} at element {}\n", i,
                             w.size(), worst, at);
  }
  return status;
}

int run(const Options &o) {
  if (o.list) {
    for (const std::string &p : kiln::ir::pass_names()) std::cout << p << "\n";
    return 0;
  }
  const std::string source = o.input == "-" ? "<stdin>" : o.input;
  kiln::ir::Graph g = kiln::ir::parse(read_input(o.input), source);
  if (!o.passes.empty()) kiln::ir::run_pipeline(g, o.passes);
  const std::vector<int64_t> witnesses = kiln::ir::witness_sizes(kiln::ir::kMaxSymbols, 0);
  auto symbolic = [&](const std::string &text) {
    return kiln::ir::symbolize_text(text, witnesses);
  };
  if (o.print)
    std::cout << symbolic(o.fuse ? kiln::lower::print_fused(g, kiln::lower::fuse(g))
                                 : kiln::ir::print(g));
  if (o.kernels) print_kernels(g);
  if (!o.run && !o.check) return 0;
  std::vector<int64_t> sizes = o.sizes;
  sizes.resize(witnesses.size(), 3);
  g = kiln::ir::substitute(g, {witnesses, sizes});
  kiln::manual_seed(o.seed);
  std::vector<kiln::runtime::Array> inputs;
  std::vector<std::string> names = kiln::ir::print_names(g);
  for (kiln::ir::ValueId v : g.inputs) {
    kiln::Tensor t = random_input(g.type(v));
    if (o.run) print_summary("%" + names[v], t);
    inputs.push_back(t.impl());
  }
  if (o.check) return check(g, inputs);
  std::vector<kiln::runtime::Array> outs = kiln::runtime::evaluate(g, inputs);
  for (size_t i = 0; i < outs.size(); ++i)
    print_summary(fmt::format("output {}", i), as_tensor(outs[i]));
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  Options o;
  cli::Parser parser = make_parser(o);
  parser.parse(argc, argv);
  if (!o.run && !o.check && !o.kernels) o.print = true;
  if (kiln::lower::take_trailing_fuse(o.passes)) o.fuse = true;
  return cli::run_main(parser, [&] { return run(o); });
}
