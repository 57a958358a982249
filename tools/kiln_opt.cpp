// kiln-opt: the command-line driver for compiler engineers. Reads IR text (a file or
// stdin), runs a pass pipeline, prints the result, its kernel groups or their kernel IR,
// evaluates it on seeded random inputs with the reference evaluator, checks the CPU backend
// against it, or writes its compiled Artifact; or loads a stored Artifact and runs it. It
// compiles through lowering/compile_graph.h, as compile() does. Exit codes are tools/cli.h's;
// bad IR reads "file:line:col: error: ...".
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

#include "ir/diag.h"
#include "ir/parser.h"
#include "ir/pipeline.h"
#include "ir/printer.h"
#include "ir/substitute_sizes.h"
#include "kiln/kiln.h"
#include "lowering/artifact.h"
#include "lowering/compile_graph.h"
#include "lowering/cuda_nvrtc/emit_cuda.h"
#include "lowering/cuda_nvrtc/nvrtc_compile.h"
#include "lowering/fusion.h"
#include "lowering/fusion_dot.h"
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
  bool emit_artifact = false;
  bool emit_dot = false;
  bool emit_cuda = false, emit_ptx = false;
  std::string cuda_arch = "sm_90";  // --target=cuda:sm_XX
  std::string output, load, target;
  std::string choices;  // Choices text
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
  p.option("--target", "CPU",
           "generate code for this CPU as LLVM names it (x86-64-v3, znver4; default: the\n"
           "host); --check and --run need one this host runs",
           [&o](std::string_view v) {
             if (v.starts_with("cuda:"))
               o.cuda_arch = v.substr(5);  // the kernels are scheduled for the host as ever
             else
               o.target = v;
           });
  p.option("--choices", "FILE|K=V;...",
           "tuning knobs in Choices' text form: a file, or key=value pairs separated by ';'",
           [&o](std::string_view v) { o.choices = v; });
  p.option("--emit", "artifact|dot|cuda|ptx",
           "artifact: compile and write the Artifact to --output; dot: the graph after the\n"
           "passes as Graphviz DOT (to --output, or stdout), each kernel a cluster with\n"
           "--fuse; render it with `dot -Tsvg`; cuda: the kernels as CUDA C; ptx: that\n"
           "compiled by NVRTC for --target=cuda:sm_XX (default sm_90)",
           [&o](std::string_view v) {
             if (v == "artifact")
               o.emit_artifact = true;
             else if (v == "dot")
               o.emit_dot = true;
             else if (v == "cuda")
               o.emit_cuda = true;
             else if (v == "ptx")
               o.emit_ptx = true;
             else
               cli::usage_error("expected --emit=artifact, dot, cuda or ptx, got '{}'", v);
           });
  p.option("--output", "FILE", "where --emit writes", [&o](std::string_view v) { o.output = v; });
  p.option("--load", "FILE",
           "read a stored Artifact instead of IR text: print what it holds, or --run it",
           [&o](std::string_view v) { o.load = v; });
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
                 "verify, or kiln rejects it; an artifact is corrupt or from another kiln"},
                {cli::kExitInternal, "internal error (a bug in kiln) or out of memory"}});
  return p;
}

void write_file(const std::string &path, const std::string &bytes) {
  std::unique_ptr<FILE, int (*)(FILE *)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file || std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size() ||
      std::fflush(file.get()) != 0)
    kiln::fail("kiln-opt: cannot write '{}': {}", path, std::strerror(errno));
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

// The bytes of a file (an artifact); throws kiln::Error when it cannot be read.
std::string read_binary(const std::string &path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    kiln::fail("kiln-opt: cannot read '{}': it is a folder", path);
  std::unique_ptr<FILE, int (*)(FILE *)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) kiln::fail("kiln-opt: cannot read '{}': {}", path, std::strerror(errno));
  std::string bytes;
  std::array<char, 1 << 16> chunk;
  while (size_t n = std::fread(chunk.data(), 1, chunk.size(), file.get())) {
    if (bytes.size() + n > kMaxInputBytes)
      kiln::fail("kiln-opt: '{}' is larger than {} MiB", path, kMaxInputBytes >> 20);
    bytes.append(chunk.data(), n);
  }
  if (std::ferror(file.get()))
    kiln::fail("kiln-opt: cannot read '{}': {}", path, std::strerror(errno));
  return bytes;
}

// --target and --choices as values. A symbolic graph compiles here at its witness sizes,
// which are no sizes it runs at: no streaming stores for them.
struct Setting {
  kiln::lower::Target target;
  kiln::lower::Choices choices;
};

Setting setting(const Options &o, bool symbolic) {
  Setting s{kiln::lower::named_target(o.target), {}};
  std::string text = o.choices;
  std::error_code ec;
  if (!text.empty() && text.find('=') == std::string::npos) {
    if (!std::filesystem::is_regular_file(text, ec))
      cli::usage_error("--choices: '{}' is neither a file nor key=value pairs", text);
    text = read_input(text);
  }
  std::replace(text.begin(), text.end(), ';', '\n');
  try {
    s.choices = kiln::lower::Choices::parse(text);
  } catch (const kiln::Error &e) {
    cli::usage_error("--choices: {}", e.what());
  }
  if (symbolic) s.choices.schedule.streaming = false;
  return s;
}

bool is_symbolic(const kiln::ir::Graph &g) {
  const std::vector<int64_t> witnesses = kiln::ir::witness_sizes(kiln::ir::kMaxSymbols, 0);
  for (kiln::ir::ValueId v = 0; v < g.num_values(); ++v)
    for (int64_t d : g.type(v).shape)
      if (std::find(witnesses.begin(), witnesses.end(), d) != witnesses.end()) return true;
  return false;
}

void print_kernels(const kiln::ir::Graph &g, const Setting &s) {
  const kiln::lower::CompiledGraph c =
      kiln::lower::compile_graph(g, s.target, s.choices, {.codegen = false});
  std::cout << kiln::ir::symbolize_text(c.kernels_text,
                                        kiln::ir::witness_sizes(kiln::ir::kMaxSymbols, 0), true);
}

// The CPU backend against the reference evaluator on the same inputs.
int check(const kiln::ir::Graph &g, const std::vector<kiln::runtime::Array> &inputs,
          const Setting &s) {
  std::vector<kiln::runtime::Array> want = kiln::runtime::evaluate(g, inputs);
  std::vector<const kiln::runtime::Array *> pointers;
  for (const kiln::runtime::Array &a : inputs) pointers.push_back(&a);
  std::vector<kiln::runtime::Array> got =
      kiln::lower::load(kiln::lower::compile_graph(g, s.target, s.choices).artifact)->run(pointers);
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
  if (!o.load.empty()) {
    const kiln::lower::Artifact a = kiln::lower::deserialize(read_binary(o.load));
    if (!o.run) {
      std::cout << kiln::lower::describe(a);
      return 0;
    }
    const std::shared_ptr<const kiln::runtime::Program> program = kiln::lower::load(a);
    kiln::manual_seed(o.seed);
    std::vector<kiln::runtime::Array> inputs;
    for (int32_t slot : a.plan.inputs) {
      kiln::Tensor t = random_input(a.plan.slots[slot].type);
      print_summary(fmt::format("input {}", inputs.size()), t);
      inputs.push_back(t.impl());
    }
    std::vector<const kiln::runtime::Array *> pointers;
    for (const kiln::runtime::Array &in : inputs) pointers.push_back(&in);
    std::vector<kiln::runtime::Array> outs = program->run(pointers);
    for (size_t i = 0; i < outs.size(); ++i)
      print_summary(fmt::format("output {}", i), as_tensor(outs[i]));
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
  if (o.emit_dot) {
    const kiln::lower::FusionPlan plan = o.fuse ? kiln::lower::fuse(g) : kiln::lower::FusionPlan{};
    const std::string dot = symbolic(kiln::lower::graph_dot(g, o.fuse ? &plan : nullptr));
    if (o.output.empty())
      std::cout << dot;
    else
      write_file(o.output, dot);
  }
  // Only what compiles needs the CPU backend: --print, --fuse and --run work in a build
  // without LLVM; --kernels, --check and --emit do not.
  const Setting s = o.kernels || o.emit_artifact || o.check || o.emit_cuda || o.emit_ptx
                        ? setting(o, is_symbolic(g))
                        : Setting{};
  if (o.kernels) print_kernels(g, s);
  if (o.emit_cuda || o.emit_ptx) {
    const kiln::lower::CompiledGraph c =
        kiln::lower::compile_graph(g, s.target, s.choices, {.codegen = false});
    const std::vector<kiln::lower::Kernel> kernels = kiln::lower::distinct_kernels(c);
    std::vector<std::string> symbols;
    for (const kiln::lower::ArtifactKernel &k : c.artifact.kernels) symbols.push_back(k.symbol);
    for (const kiln::lower::Kernel &k : kernels)
      if (std::string why = kiln::lower::cuda::why_not_emitted(k); !why.empty())
        cli::usage_error("--emit={}: {}", o.emit_ptx ? "ptx" : "cuda", why);
    std::string text = kiln::lower::cuda::emit_cuda(kernels, symbols);
    if (o.emit_ptx) text = kiln::lower::cuda::compile_for_device(text, o.cuda_arch, false).ptx;
    if (o.output.empty())
      std::cout << text;
    else
      write_file(o.output, text);
  }
  if (o.emit_artifact) {
    write_file(o.output,
               kiln::lower::serialize(kiln::lower::compile_graph(g, s.target, s.choices).artifact));
  }
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
  if (o.check) return check(g, inputs, s);
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
  if (o.emit_artifact && o.output.empty()) cli::usage_error("--emit=artifact needs --output=FILE");
  if (!o.load.empty() &&
      (o.check || o.kernels || o.print || o.fuse || o.emit_artifact || o.emit_dot))
    cli::usage_error("--load takes only --run and --seed");
  if (!o.run && !o.check && !o.kernels && !o.emit_artifact && !o.emit_dot && !o.emit_cuda &&
      !o.emit_ptx && o.load.empty())
    o.print = true;
  if (kiln::lower::take_trailing_fuse(o.passes)) o.fuse = true;
  return cli::run_main(parser, [&] { return run(o); });
}
