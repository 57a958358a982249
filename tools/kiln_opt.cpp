// kiln-opt: the command-line driver for compiler engineers. Reads IR text (a file or
// stdin), runs a pass pipeline, prints the result, its kernel groups or their kernel IR,
// evaluates it on seeded random inputs with the reference evaluator, or checks the CPU
// backend against it. Bad IR exits 1 with "file:line:col: error: ...".
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "frontend/build_program.h"
#include "ir/diag.h"
#include "ir/fusion.h"
#include "ir/kernel_ir.h"
#include "ir/parser.h"
#include "ir/pipeline.h"
#include "ir/printer.h"
#include "ir/substitute_sizes.h"
#include "kiln/kiln.h"
#include "lowering/schedule.h"
#include "runtime/evaluate.h"

namespace {

constexpr const char *kUsage =
    "usage: kiln-opt [FILE.kir | -] [--passes=a,b,c] [--fuse] [--kernels] [--print] [--run]\n"
    "                [--check] [--seed=N] [--sizes=s0=N,...] [--list-passes]\n"
    "  reads IR text from FILE (or stdin), runs the passes in order, then prints the IR\n"
    "  (--print, the default) and/or evaluates it on seeded random inputs (--run).\n"
    "  --fuse (or `fuse` last in --passes) prints the kernel groups fusion makes;\n"
    "  --kernels prints their kernel IR; --check compiles the graph with the CPU backend,\n"
    "  runs it and the reference evaluator on the same seeded inputs and prints the\n"
    "  largest difference per output (exit 1 if an output's shape or dtype differs).\n"
    "  Symbolic sizes (s0, s1, … as in dynamic-shape dumps) print as symbols; --run and\n"
    "  --check bind them with --sizes (default 3 each)\n";

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
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const std::string want = fmt::format("s{}=", sizes.size());
    int64_t n = 0;
    const bool ok = item.starts_with(want) &&
                    std::from_chars(item.data() + want.size(), item.data() + item.size(), n).ptr == item.data() + item.size();
    if (!ok || n < 2) kiln::fail("kiln-opt: --sizes: expected {}N with N >= 2, got '{}'", want, item);
    sizes.push_back(n);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return sizes;
}

Options parse_args(int argc, char **argv) {
  Options o;
  bool have_input = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--passes=", 0) == 0) o.passes = a.substr(9);
    else if (a == "--print") o.print = true;
    else if (a == "--fuse") o.fuse = true;
    else if (a == "--kernels") o.kernels = true;
    else if (a == "--check") o.check = true;
    else if (a == "--run") o.run = true;
    else if (a.rfind("--seed=", 0) == 0) o.seed = std::stoull(a.substr(7));
    else if (a.rfind("--sizes=", 0) == 0) o.sizes = parse_sizes(std::string_view(a).substr(8));
    else if (a == "--list-passes") o.list = true;
    else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a.rfind("--", 0) == 0 || have_input) {
      kiln::fail("kiln-opt: unexpected argument '{}'\n{}", a, kUsage);
    } else {
      o.input = a;
      have_input = true;
    }
  }
  if (!o.run && !o.check && !o.kernels) o.print = true;
  if (kiln::ir::take_trailing_fuse(o.passes)) o.fuse = true;
  return o;
}

std::string read_input(const std::string &path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path);
  if (!in) kiln::fail("kiln-opt: cannot read '{}'", path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

kiln::Tensor random_input(const kiln::TensorType &t) {
  if (is_floating(t.dtype)) return kiln::randn(t.shape, t.dtype);
  if (t.dtype == kiln::DType::Bool) return kiln::rand(t.shape) < 0.5;
  return kiln::randint(0, 10, t.shape, t.dtype);
}

void print_summary(const std::string &name, const kiln::Tensor &t) {
  std::string line = fmt::format("{} = {}", name, t.str());
  if (is_floating(t.dtype()) && t.numel() > 0)
    line += fmt::format("  (min {:.6g}, max {:.6g}, mean {:.6g})", kiln::min(t).item<double>(),
                        kiln::max(t).item<double>(), kiln::mean(t.to(kiln::DType::F64)).item<double>());
  std::cout << line << "\n";
}

kiln::Tensor as_tensor(const kiln::runtime::Array &a) {
  auto impl = std::make_shared<kiln::detail::TensorImpl>();
  static_cast<kiln::runtime::Array &>(*impl) = a;
  return kiln::Tensor(impl);
}

void print_kernels(const kiln::ir::Graph &g) {
  const kiln::ir::FusionPlan plan = kiln::ir::fuse(g);
  const std::vector<int64_t> witnesses = kiln::ir::witness_sizes(kiln::ir::kMaxSymbols, 0);
  // A symbolic graph is scheduled as a dynamic entry is: no streaming stores.
  bool symbolic = false;
  for (kiln::ir::ValueId v = 0; v < g.num_values(); ++v)
    for (int64_t d : g.type(v).shape)
      symbolic |= std::find(witnesses.begin(), witnesses.end(), d) != witnesses.end();
  int index = 0;
  for (const kiln::ir::Group &group : plan.groups)
    if (group.kind != kiln::ir::GroupKind::Library)
      std::cout << kiln::ir::symbolize_text(
          kiln::ir::print_kernel(kiln::lower::schedule(
              g, group, fmt::format("{}.k{}", g.name, index++), {.streaming = !symbolic})),
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
      std::cout << fmt::format("output {}: expected {}, got {}\n", i, want[i].type().str(), got[i].type().str());
      status = 1;
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
  auto symbolic = [&](const std::string &text) { return kiln::ir::symbolize_text(text, witnesses); };
  if (o.print) std::cout << symbolic(o.fuse ? kiln::ir::print_fused(g, kiln::ir::fuse(g)) : kiln::ir::print(g));
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
  for (size_t i = 0; i < outs.size(); ++i) print_summary(fmt::format("output {}", i), as_tensor(outs[i]));
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const kiln::Error &e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
