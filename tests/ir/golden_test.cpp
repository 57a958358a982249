// IR golden tests (STYLE.md §8): every tests/ir/<pass>/*.kir case is parsed, run through
// its `# RUN:` pipeline and printed; the text must equal its `# EXPECT:` part byte for
// byte. A pipeline may end in `fuse` (print the kernel groups) or `kernels` (print the kernel
// IR compile_graph makes for the AVX2 target x86-64-v3 at default Choices, so a change to a
// schedule or a Choice shows up as a text diff). KILN_UPDATE_GOLDEN=1 rewrites the
// expectations instead. Also the pipeline's errors
// and decompose's completeness and numerics (against the eager kernels).
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ir/diag.h"
#include "ir/parser.h"
#include "ir/passes/constant_eval.h"
#include "ir/pipeline.h"
#include "ir/printer.h"
#include "ir/verify.h"
#include "lowering/backend.h"
#include "lowering/compile_graph.h"
#include "lowering/fusion.h"
#include "lowering/fusion_dot.h"
#include "runtime/evaluate.h"
#include "runtime/execute.h"

namespace kiln::ir {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSeparator = "# ----";
constexpr std::string_view kExpect = "# EXPECT:";
constexpr std::string_view kRun = "# RUN: ";

struct Case {
  int first_line = 1;  // of the case in its file, for parse errors and failure reports
  std::string head;    // everything up to and including the `# EXPECT:` line
  std::string input;   // the graph text of head, comment lines blanked (keeps line numbers)
  std::string pipeline;
  std::string expected;
};

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string trim(std::string_view s) {
  size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

std::vector<Case> split_cases(const std::string &text) {
  std::vector<Case> cases(1);
  bool in_expect = false;
  int line_no = 0;
  for (const std::string &line : lines_of(text)) {
    ++line_no;
    if (line == kSeparator) {
      cases.emplace_back().first_line = line_no + 1;
      in_expect = false;
      continue;
    }
    Case &c = cases.back();
    if (in_expect) {
      c.expected += line + "\n";
      continue;
    }
    c.head += line + "\n";
    in_expect = line == kExpect;
    if (line.starts_with(kRun)) c.pipeline = trim(line.substr(kRun.size()));
    c.input += (line.starts_with("#") ? "" : line) + "\n";
  }
  return cases;
}

// A line diff from the longest common subsequence: "-" lines expected, "+" lines actual.
std::string diff(const std::string &expected, const std::string &actual) {
  std::vector<std::string> a = lines_of(expected), b = lines_of(actual);
  std::vector<std::vector<int>> lcs(a.size() + 1, std::vector<int>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;)
    for (size_t j = b.size(); j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::string out;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      out += "  " + a[i++] + "\n";
      ++j;
    } else if (j < b.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out += "+ " + b[j++] + "\n";
    } else {
      out += "- " + a[i++] + "\n";
    }
  }
  return out;
}

std::string read_file(const fs::path &path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> golden_files() {
  std::vector<fs::path> files;
  for (const auto &entry :
       fs::recursive_directory_iterator(fs::path(KILN_SOURCE_ROOT) / "tests/ir"))
    if (entry.is_regular_file() && entry.path().extension() == ".kir")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// Parses text whose first line is line `first_line` of `file` (errors then point into it).
Graph parse_at(const std::string &text, const fs::path &file, int first_line) {
  return parse(std::string(first_line - 1, '\n') + text, file.string());
}

void check_round_trip(const std::string &text, const fs::path &file, int first_line) {
  std::string printed = print(parse_at(text, file, first_line));
  CHECK_MESSAGE(trim(printed) == trim(text), "round trip changed the text:\n"
                                                 << diff(trim(text), trim(printed)));
}

// Removes a trailing `kernels` from a pipeline ("decompose,kernels") and says whether it
// was there.
bool take_trailing_kernels(std::string &pipeline) {
  constexpr std::string_view kKernels = "kernels";
  if (!pipeline.ends_with(kKernels)) return false;
  pipeline.resize(pipeline.size() - kKernels.size());
  if (!pipeline.empty() && pipeline.back() == ',') pipeline.pop_back();
  return true;
}

// Runs every case of one file; returns the file rewritten with the actual outputs. When
// updating, the old expectations are not checked (they may be empty or stale).
std::string run_file(const fs::path &file, bool update) {
  std::vector<Case> cases = split_cases(read_file(file));
  std::string rewritten;
  for (const Case &c : cases) {
    if (!rewritten.empty()) rewritten += std::string(kSeparator) + "\n";
    std::string where = fmt::format("{}:{}", file.string(), c.first_line);
    INFO(where);
    REQUIRE_MESSAGE(!c.pipeline.empty(), "case has no '# RUN: <pipeline>' line");
    REQUIRE_MESSAGE(c.head.ends_with(std::string(kExpect) + "\n"), "case has no '# EXPECT:'");
    check_round_trip(c.input, file, c.first_line);
    int expect_line = c.first_line + static_cast<int>(lines_of(c.head).size());
    std::string pipeline = c.pipeline;
    const bool kernels = take_trailing_kernels(pipeline);
    if (kernels && !lower::backend(lower::BackendKind::Cpu).available) continue;
    const bool fused = lower::take_trailing_fuse(pipeline);  // fused text does not parse back
    if (!update && !fused && !kernels) check_round_trip(c.expected, file, expect_line);
    Graph g = parse_at(c.input, file, c.first_line);
    run_pipeline(g, pipeline);
    std::string actual =
        trim(kernels ? lower::compile_graph(g, lower::named_target(lower::kAvx2Cpu), {},
                                            {.codegen = false})
                           .kernels_text
             : fused ? lower::print_fused(g, lower::fuse(g))
                     : print(g));
    if (!update)
      CHECK_MESSAGE(actual == trim(c.expected), "output differs (- expected, + actual):\n"
                                                    << diff(trim(c.expected), actual));
    rewritten += c.head + actual + "\n";
  }
  return rewritten;
}

// The ops decompose must remove.
bool is_decomposed_op(OpKind op) {
  switch (op) {
    case OpKind::Dropout:
    case OpKind::CrossEntropy:
    case OpKind::Embedding:
    case OpKind::OneHot: return false;
    case OpKind::Gelu:
    case OpKind::Silu:
    case OpKind::Mean:
    case OpKind::Var:
    case OpKind::Std:
    case OpKind::Logsumexp: return true;
    default: return op_info(op).category == OpCategory::Composite;
  }
}

// A float input with seeded values in [-4, 4). An input named `special` also holds a row
// of -inf, a +inf, a NaN and large values, for the max-shifting decompositions.
runtime::Array make_input(const Graph &g, ValueId v, uint32_t seed) {
  const TensorType &t = g.type(v);
  runtime::Array a = runtime::empty_array(t.shape, DType::F64);
  double *p = reinterpret_cast<double *>(a.storage.data());
  int64_t n = numel(t.shape), row = t.shape.empty() ? 1 : t.shape.back();
  for (int64_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = static_cast<double>(seed >> 8) / static_cast<double>(1u << 24) * 8.0 - 4.0;
  }
  if (g.value(v).name == "special" && n >= 4 * row) {
    for (int64_t i = 0; i < row; ++i) p[i] = -INFINITY;
    p[row] = INFINITY;
    p[2 * row + 1] = NAN;
    for (int64_t i = 3 * row; i < 4 * row; ++i) p[i] = 1000.0 + static_cast<double>(i);
  }
  const runtime::Array *in[] = {&a};
  return runtime::execute(OpKind::Convert, in, Attrs{{"dtype", t.dtype}}, t);
}

std::vector<double> values_of(const runtime::Array &a) {
  const runtime::Array *in[] = {&a};
  runtime::Array d = runtime::execute(OpKind::Convert, in, Attrs{{"dtype", DType::F64}},
                                      {DType::F64, a.type().shape});
  const double *p = reinterpret_cast<const double *>(d.storage.data()) + d.layout.offset;
  return {p, p + numel(a.type().shape)};
}

// "" when got matches want: NaN for NaN, infinities exactly, else within atol + rtol |want|.
std::string compare(const std::vector<double> &got, const std::vector<double> &want, DType dtype) {
  double atol = dtype == DType::F64 ? 1e-12 : 1e-5, rtol = dtype == DType::F64 ? 1e-10 : 1e-4;
  for (size_t i = 0; i < want.size(); ++i) {
    double g = got[i], w = want[i];
    bool ok = std::isnan(w)   ? std::isnan(g)
              : std::isinf(w) ? g == w
                              : std::abs(g - w) <= atol + rtol * std::abs(w);
    if (!ok) return fmt::format("element {}: got {}, expected {}", i, g, w);
  }
  return "";
}

constexpr const char *kComposites[] = {
    "graph @softmax(%special: f32[4,6], %y: f64[3,5,2]) -> (f32[4,6], f64[3,5,2])\n"
    "    where [device=cpu] {\n"
    "  %0: f32[4,6] = softmax[dim=1] %special\n"
    "  %1: f64[3,5,2] = softmax[dim=1] %y\n"
    "  return %0, %1\n}\n",
    "graph @log_softmax(%special: f32[4,6], %y: f32[3,5,2]) -> (f32[4,6], f32[3,5,2])\n"
    "    where [device=cpu] {\n"
    "  %0: f32[4,6] = log_softmax %special\n"
    "  %1: f32[3,5,2] = log_softmax[dim=0] %y\n"
    "  return %0, %1\n}\n",
    "graph @norms(%x: f32[3,4,5], %w: f32[4,5], %b: f32[4,5], %v: f32[5]) -> (f32[3,4,5], "
    "f32[3,4,5], f32[3,4,5], f32[3,4,5])\n"
    "    where [device=cpu] {\n"
    "  %0: f32[3,4,5] = layer_norm[axes=2, eps=1e-05] %x, %w, %b\n"
    "  %1: f32[3,4,5] = layer_norm[eps=0.001] %x\n"
    "  %2: f32[3,4,5] = rms_norm[eps=1e-06] %x, %v\n"
    "  %3: f32[3,4,5] = rms_norm[axes=3, eps=1e-06] %x\n"
    "  return %0, %1, %2, %3\n}\n",
    "graph @activations(%x: f32[64], %y: f64[16]) -> (f32[64], f32[64], f32[64], f64[16])\n"
    "    where [device=cpu] {\n"
    "  %0: f32[64] = gelu %x\n"
    "  %1: f32[64] = gelu[approximate=true] %x\n"
    "  %2: f32[64] = silu %x\n"
    "  %3: f64[16] = gelu[approximate=true] %y\n"
    "  return %0, %1, %2, %3\n}\n",
    "graph @reductions(%x: f32[4,6], %y: f64[2,3,4]) -> (f32[4], f32[1,6], f32[], f64[2,1,4], "
    "f64[4], f64[2,3,1])\n"
    "    where [device=cpu] {\n"
    "  %0: f32[4] = mean[dims=[1]] %x\n"
    "  %1: f32[1,6] = var[dims=[0], keepdim=true] %x\n"
    "  %2: f32[] = std[correction=0] %x\n"
    "  %3: f64[2,1,4] = var[correction=2, dims=[1], keepdim=true] %y\n"
    "  %4: f64[4] = std[dims=[0,1]] %y\n"
    "  %5: f64[2,3,1] = mean[dims=[-1], keepdim=true] %y\n"
    "  return %0, %1, %2, %3, %4, %5\n}\n",
    "graph @logsumexp(%special: f32[4,6], %y: f64[3,4]) -> (f32[4], f32[4,1], f64[])\n"
    "    where [device=cpu] {\n"
    "  %0: f32[4] = logsumexp[dims=[1]] %special\n"
    "  %1: f32[4,1] = logsumexp[dims=[1], keepdim=true] %special\n"
    "  %2: f64[] = logsumexp %y\n"
    "  return %0, %1, %2\n}\n",
    "graph @losses(%a: f32[3,4], %b: f32[3,4]) -> (f32[], f32[], f32[3,4])\n"
    "    where [device=cpu] {\n"
    "  %0: f32[] = mse_loss[reduction=\"mean\"] %a, %b\n"
    "  %1: f32[] = mse_loss[reduction=\"sum\"] %a, %b\n"
    "  %2: f32[3,4] = mse_loss[reduction=\"none\"] %a, %b\n"
    "  return %0, %1, %2\n}\n",
};

}  // namespace

TEST_SUITE("ir") {
  TEST_CASE("golden: every tests/ir/**/*.kir case prints its expected text") {
    std::vector<fs::path> files = golden_files();
    REQUIRE(!files.empty());
    const char *env = std::getenv("KILN_UPDATE_GOLDEN");
    const bool update = env != nullptr && std::string_view(env) == "1";
    for (const fs::path &file : files) {
      std::string rewritten = run_file(file, update);
      if (update) std::ofstream(file) << rewritten;
    }
  }

  TEST_CASE("dot: every golden graph draws as DOT Graphviz lays out, a cluster per kernel") {
    REQUIRE_MESSAGE(std::system("command -v dot > /dev/null 2>&1") == 0,
                    "Graphviz's `dot` is missing: tools/setup.sh installs Debian's graphviz");
    const fs::path dir = fs::temp_directory_path() / fmt::format("kiln_dot_{}", getpid());
    fs::create_directories(dir);
    const bool cpu = lower::backend(lower::BackendKind::Cpu).available;
    int drawn = 0, clustered = 0;
    for (const fs::path &file : golden_files())
      for (const Case &c : split_cases(read_file(file))) {
        INFO(fmt::format("{}:{}", file.string(), c.first_line));
        std::string pipeline = c.pipeline;
        (void)take_trailing_kernels(pipeline);
        const bool fused = lower::take_trailing_fuse(pipeline);
        Graph g = parse_at(c.input, file, c.first_line);
        run_pipeline(g, pipeline);
        const lower::FusionPlan plan = fused ? lower::fuse(g) : lower::FusionPlan{};
        const std::string dot = lower::graph_dot(g, fused ? &plan : nullptr);
        const fs::path in = dir / "g.dot", svg = dir / "g.svg";
        std::ofstream(in) << dot;
        const std::string cmd =
            fmt::format("dot -Tsvg '{}' -o '{}' 2>&1", in.string(), svg.string());
        CHECK_MESSAGE(std::system(cmd.c_str()) == 0, dot);
        CHECK(fs::file_size(svg) > 0);
        ++drawn;
        int clusters = 0;
        for (size_t at = dot.find("subgraph cluster_"); at != std::string::npos;
             at = dot.find("subgraph cluster_", at + 1))
          ++clusters;
        if (!fused) {
          CHECK(clusters == 0);
          continue;
        }
        ++clustered;
        int64_t kernels = 0;
        for (const lower::Group &group : plan.groups)
          kernels += group.kind != lower::GroupKind::Library;
        CHECK(clusters == kernels);
        if (cpu)
          CHECK(
              static_cast<size_t>(clusters) ==
              lower::compile_graph(g, lower::named_target(lower::kAvx2Cpu), {}, {.codegen = false})
                  .kernels.size());
      }
    fs::remove_all(dir);
    CHECK(drawn >= 60);
    CHECK(clustered >= 10);
  }

  TEST_CASE("dot: a 300-node graph lays out top to bottom, every node and kernel drawn once") {
    // A chain of pointwise ops with skip connections and a matmul now and then: many kernels,
    // long edges. Readable means: it grows downwards (rankdir TB), not sideways, and no label
    // is lost or drawn twice (Graphviz never overlaps nodes; labels live inside them).
    std::string text =
        "graph @big(%x: f32[64,64], %y: f32[64,64]) -> f32[64,64]\n"
        "    where [device=cpu] {\n";
    constexpr const char *kOps[] = {"exp", "tanh", "neg", "sigmoid", "abs"};
    for (int i = 0; i < 300; ++i) {
      const std::string prev = i == 0 ? "%x" : fmt::format("%{}", i - 1);
      if (i % 7 == 6)
        text += fmt::format("  %{}: f32[64,64] = add {}, %{}\n", i, prev, i / 2);
      else if (i % 31 == 30)
        text += fmt::format("  %{}: f32[64,64] = matmul {}, %y\n", i, prev);
      else
        text += fmt::format("  %{}: f32[64,64] = {} {}\n", i, kOps[i % 5], prev);
    }
    text += "  return %299\n}\n";
    Graph g = parse(text, "<big>");
    const lower::FusionPlan plan = lower::fuse(g);
    const std::string dot = lower::graph_dot(g, &plan);
    const fs::path dir = fs::temp_directory_path() / fmt::format("kiln_dot_big_{}", getpid());
    fs::create_directories(dir);
    std::ofstream(dir / "big.dot") << dot;
    REQUIRE(std::system(fmt::format("dot -Tsvg '{}' -o '{}' 2>&1", (dir / "big.dot").string(),
                                    (dir / "big.svg").string())
                            .c_str()) == 0);
    const std::string svg = read_file(dir / "big.svg");
    fs::remove_all(dir);
    for (int i = 0; i < 300; ++i) {
      const std::string label = fmt::format(">%{} = ", i);
      const size_t at = svg.find(label);
      CHECK_MESSAGE(at != std::string::npos, label);
      CHECK_MESSAGE(svg.find(label, at + 1) == std::string::npos, label);
    }
    int64_t kernels = 0;
    for (const lower::Group &group : plan.groups)
      kernels += group.kind != lower::GroupKind::Library;
    int clusters = 0;
    for (size_t at = svg.find("class=\"cluster\""); at != std::string::npos;
         at = svg.find("class=\"cluster\"", at + 1))
      ++clusters;
    CHECK(clusters == kernels);
    double width = 0, height = 0;
    REQUIRE(std::sscanf(svg.c_str() + svg.find("<svg width=\""),
                        "<svg width=\"%lfpt\" height=\"%lfpt\"", &width, &height) == 2);
    CHECK_MESSAGE(height > 2 * width, width, " x ", height);  // down the page, not across
  }

  TEST_CASE("pipeline: an unknown pass names the known ones") {
    Graph g;
    CHECK_THROWS_WITH_AS(run_pipeline(g, "dce,foo"),
                         "unknown pass 'foo': expected one of verify, dce, cse, "
                         "fold-constants, simplify, decompose, small-matmul, sink-reshapes",
                         Error);
  }

  TEST_CASE("pipeline: the observer sees each pass in order") {
    Graph g = parse(
        "graph @f(%x: f32[4]) -> f32[4]\n    where [device=cpu] {\n"
        "  %0: f32[4] = neg %x\n  %1: f32[4] = neg %0\n  %2: f32[4] = exp %x\n"
        "  return %1\n}\n");
    std::vector<std::string> seen;
    run_pipeline(g, std::string(default_pipeline()),
                 [&](std::string_view pass, bool changed, const Graph &) {
                   seen.push_back(fmt::format("{}={}", pass, changed));
                 });
    CHECK(
        fmt::format("{}", fmt::join(seen, " ")) ==
        "decompose=false small-matmul=false sink-reshapes=false simplify=true fold-constants=false "
        "cse=false dce=true");
    CHECK(g.nodes.empty());
    CHECK(g.outputs == g.inputs);
  }

  TEST_CASE("decompose: no composite is left and values match the eager kernels") {
    for (const char *text : kComposites) {
      Graph original = parse(text);
      INFO(original.name);
      std::vector<runtime::Array> inputs;
      for (size_t i = 0; i < original.inputs.size(); ++i)
        inputs.push_back(make_input(original, original.inputs[i], 17u + static_cast<uint32_t>(i)));
      std::vector<runtime::Array> want = runtime::evaluate(original, inputs);
      for (std::string_view pipeline : {std::string_view("decompose"), default_pipeline()}) {
        INFO(pipeline);
        Graph g = original;
        run_pipeline(g, pipeline);
        verify(g);
        for (const Node &n : g.nodes) CHECK_MESSAGE(!is_decomposed_op(n.op), op_name(n.op));
        std::vector<runtime::Array> got = runtime::evaluate(g, inputs);
        for (size_t i = 0; i < want.size(); ++i) {
          INFO("output " << i);
          std::string mismatch = compare(values_of(got[i]), values_of(want[i]), want[i].dtype);
          CHECK_MESSAGE(mismatch.empty(), mismatch);
        }
      }
    }
  }

  TEST_CASE("fold-constants: every elementwise op has a scalar formula") {
    for (const OpInfo &info : kOpTable)
      if (info.category == OpCategory::Elementwise)
        CHECK_MESSAGE(has_formula(info.kind), info.name);
  }
}

}  // namespace kiln::ir
