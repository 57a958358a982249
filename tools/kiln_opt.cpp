// kiln-opt: the command-line driver for compiler engineers. Reads IR text (a file or
// stdin), runs a pass pipeline, prints the result and/or evaluates it on seeded random
// inputs with the reference evaluator. Bad IR exits 1 with "file:line:col: error: ...".
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "ir/diag.h"
#include "ir/parser.h"
#include "ir/pipeline.h"
#include "ir/fusion.h"
#include "ir/printer.h"
#include "kiln/kiln.h"
#include "runtime/evaluate.h"

namespace {

constexpr const char *kUsage =
    "usage: kiln-opt [FILE.kir | -] [--passes=a,b,c] [--fuse] [--print] [--run] [--seed=N]\n"
    "                [--list-passes]\n"
    "  reads IR text from FILE (or stdin), runs the passes in order, then prints the IR\n"
    "  (--print, the default) and/or evaluates it on seeded random inputs (--run).\n"
    "  --fuse (or `fuse` last in --passes) prints the kernel groups fusion makes\n";

struct Options {
  std::string input = "-";
  std::string passes;
  bool print = false, run = false, list = false, fuse = false;
  uint64_t seed = 0;
};

Options parse_args(int argc, char **argv) {
  Options o;
  bool have_input = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--passes=", 0) == 0) o.passes = a.substr(9);
    else if (a == "--print") o.print = true;
    else if (a == "--fuse") o.fuse = true;
    else if (a == "--run") o.run = true;
    else if (a.rfind("--seed=", 0) == 0) o.seed = std::stoull(a.substr(7));
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
  if (!o.run) o.print = true;
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

int run(const Options &o) {
  if (o.list) {
    for (const std::string &p : kiln::ir::pass_names()) std::cout << p << "\n";
    return 0;
  }
  const std::string source = o.input == "-" ? "<stdin>" : o.input;
  kiln::ir::Graph g = kiln::ir::parse(read_input(o.input), source);
  if (!o.passes.empty()) kiln::ir::run_pipeline(g, o.passes);
  if (o.print) std::cout << (o.fuse ? kiln::ir::print_fused(g, kiln::ir::fuse(g)) : kiln::ir::print(g));
  if (!o.run) return 0;
  kiln::manual_seed(o.seed);
  std::vector<kiln::runtime::Array> inputs;
  std::vector<std::string> names = kiln::ir::print_names(g);
  for (kiln::ir::ValueId v : g.inputs) {
    kiln::Tensor t = random_input(g.type(v));
    print_summary("%" + names[v], t);
    inputs.push_back(t.impl());
  }
  std::vector<kiln::runtime::Array> outs = kiln::runtime::evaluate(g, inputs);
  for (size_t i = 0; i < outs.size(); ++i) {
    auto impl = std::make_shared<kiln::detail::TensorImpl>();
    static_cast<kiln::runtime::Array &>(*impl) = outs[i];
    print_summary(fmt::format("output {}", i), kiln::Tensor(impl));
  }
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
