// The Artifact seam (lowering/artifact.h, lowering/compile_graph.h): compile → serialize →
// deserialize → load gives bit-identical results to the direct load for every op-table case
// (the fuzz suite does the same for every generated program); artifacts are deterministic
// (two processes write the same bytes) and keyed by content, not names; corrupt bytes are a
// kiln::Error, flip by flip; Choices and Target round-trip as text and reach the code; one
// kernel step runs alone.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "check.h"
#include "fuzz/differential.h"
#include "ir/parser.h"
#include "ir/pipeline.h"
#include "lowering/backend.h"
#include "lowering/compile_graph.h"
#include "ops/op_cases.h"

namespace kiln::test {
namespace {

namespace fs = std::filesystem;

// W1-like: one pointwise kernel; softmax: one row kernel; a matmul with its epilogue.
constexpr std::string_view kGraph =
    R"(graph @model(%x: f32[64,48], %w: f32[48,32], %b: f32[32]) -> (f32[64,32], f32[64,48])
    where [device=cpu] {
  %0: f32[64,32] = matmul %x, %w
  %1: f32[64,32] = broadcast[shape=[64,32]] %b
  %2: f32[64,32] = add %0, %1
  %3: f32[64,32] = gelu %2
  %4: f32[64,48] = softmax[dim=1] %x
  return %3, %4
}
)";

ir::Graph optimised(std::string_view text) {
  ir::Graph g = ir::parse(text, "<test>");
  ir::run_pipeline(g, ir::default_pipeline());
  return g;
}

lower::Artifact compile_text(std::string_view text, const lower::Choices &choices = {},
                             const lower::Target &target = lower::current_target()) {
  return lower::compile_graph(optimised(text), target, choices).artifact;
}

std::vector<runtime::Array> inputs_for(const ir::Graph &g, uint64_t seed) {
  std::vector<runtime::Array> out;
  for (const Tensor &t : fuzz::make_inputs(g, seed)) out.push_back(t.impl());
  return out;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

TEST_SUITE("artifact" * doctest::skip(!lower::backend(lower::BackendKind::Cpu).available)) {
  TEST_CASE("every op-table case: the artifact read back from bytes runs bit-identically") {
    int checked = 0, skipped = 0;
    for (const OpCase &c : all_op_cases()) {
      CAPTURE(c.name);
      // The graph compile() traces and optimises; the reference backend spares the LLVM
      // compile that artifact_round_trip does anyway.
      auto f = compile([fn = c.fn](std::vector<Tensor> xs) { return fn(xs); },
                       {.name = "op_case", .arg_names = {"xs"}, .backend = Backend::Reference});
      const Explanation ex = explain(f, c.inputs);
      REQUIRE(!ex.entries.empty());
      const Explanation::Entry &e = ex.entries.back();
      // Breaks, and cases whose graphs hold captured tensors (not among the inputs), do not
      // give a graph to run on the case's inputs alone.
      if (!e.compiled) {
        ++skipped;
        continue;
      }
      const ir::Graph g = ir::parse(e.graph, "<explain>");
      if (g.inputs.size() != c.inputs.size()) {
        ++skipped;
        continue;
      }
      std::vector<runtime::Array> inputs;
      for (const Tensor &t : c.inputs) inputs.push_back(t.contiguous().impl());
      const std::string m = fuzz::artifact_round_trip(g, inputs);
      CHECK_MESSAGE(m.empty(), c.name, ": ", m);
      ++checked;
    }
    MESSAGE(checked, " op cases round-tripped, ", skipped, " without a graph of their inputs");
    CHECK(checked > 3 * skipped);
  }

  TEST_CASE("the same graph gives byte-identical artifacts, in this process and in two others") {
    const std::string a = lower::serialize(compile_text(kGraph));
    CHECK(a == lower::serialize(compile_text(kGraph)));
    const fs::path dir = fs::temp_directory_path() / fmt::format("kiln_artifact_{}", getpid());
    fs::create_directories(dir);
    {
      std::ofstream(dir / "model.kir") << kGraph;
    }
    for (const char *out : {"one.art", "two.art"}) {
      const std::string cmd =
          fmt::format("'{}' '{}' --passes={} --emit=artifact --output='{}'", KILN_OPT_PATH,
                      (dir / "model.kir").string(), ir::default_pipeline(), (dir / out).string());
      CHECK_MESSAGE(run_capture(cmd).empty(), cmd);
    }
    const std::string one = read_bytes(dir / "one.art"), two = read_bytes(dir / "two.art");
    CHECK(!one.empty());
    CHECK(one == two);
    CHECK(lower::deserialize(one).key == lower::deserialize(a).key);
    const std::string shown =
        run_capture(fmt::format("'{}' --load='{}'", KILN_OPT_PATH, (dir / "one.art").string()));
    CHECK(shown.find("key: " + lower::deserialize(one).key) != std::string::npos);
    CHECK(shown.find("GEMM micro-kernel") != std::string::npos);
    const std::string ran = run_capture(
        fmt::format("'{}' --load='{}' --run --seed=3", KILN_OPT_PATH, (dir / "one.art").string()));
    CHECK_MESSAGE(ran.find("output 1 = f32[64,48]") != std::string::npos, ran);
    fs::remove_all(dir);
  }

  // Kernels compile in parts on the thread pool (compile_object.cpp): the parts come from the
  // kernels alone, so the bytes may not depend on how many threads compiled them.
  // Cache keys name the sources (tools/source_hash.sh), so an edited build never loads code
  // an older build compiled under the same version number.
  TEST_CASE("the versions in every key carry a hash of the sources") {
    const std::string v = lower::versions(lower::BackendKind::Cpu);
    const size_t at = v.find("(sources ");
    REQUIRE_MESSAGE(at != std::string::npos, v);
    const std::string hash = v.substr(at + 9, 16);
    CHECK_MESSAGE(hash.find_first_not_of("0123456789abcdef") == std::string::npos, v);
    CHECK(v.substr(at + 25, 1) == ")");
  }

  TEST_CASE("an artifact's bytes are the same compiled on one thread and on two") {
    // W4's shape of graph: two GEMM kernels, enough work for two parts.
    constexpr std::string_view kTwoLayers =
        R"(graph @mlp(%x: f32[64,48], %w: f32[48,96], %v: f32[96,32]) -> f32[64,32]
    where [device=cpu] {
  %0: f32[64,96] = matmul %x, %w
  %1: f32[64,96] = gelu %0
  %2: f32[64,32] = matmul %1, %v
  return %2
}
)";
    const int threads = num_threads();
    set_num_threads(1);
    const lower::Artifact one = compile_text(kTwoLayers);
    set_num_threads(2);
    const lower::Artifact two = compile_text(kTwoLayers);
    set_num_threads(threads);
    REQUIRE(one.kernels.size() == 2);
    CHECK(one.object.starts_with("\x7fKILNOBJ"));  // two parts, two objects framed together
    CHECK(lower::serialize(one) == lower::serialize(two));
    // And the parts load and run, against the reference evaluator.
    const ir::Graph g = optimised(kTwoLayers);
    const std::string m = fuzz::artifact_round_trip(g, inputs_for(g, 5));
    CHECK_MESSAGE(m.empty(), m);
  }

  TEST_CASE("the key follows content: names do not change it; a choice, the target or a shape do") {
    const lower::Artifact base = compile_text(kGraph);
    CHECK(base.key.size() == 32);
    std::string renamed = replace_all(std::string(kGraph), "@model", "@other_name");
    renamed = replace_all(renamed, "%x", "%input");
    renamed = replace_all(renamed, "%w", "%weight");
    const lower::Artifact same = compile_text(renamed);
    CHECK(same.key == base.key);
    CHECK(same.object == base.object);  // symbols come from content, not names or counters

    lower::Choices choices;
    choices.schedule.line_split = 128;
    CHECK(compile_text(kGraph, choices).key != base.key);
    lower::Choices tile;
    tile.per_kernel[0].gemm_tile = ir::GemmTile{.mr = 4, .nr = 16, .kc = 64, .mc = 64, .nc = 256};
    CHECK(compile_text(kGraph, tile).key != base.key);
    if (lower::host_target().cpu != lower::kAvx2Cpu) {
      const lower::Target avx2 = lower::named_target(lower::kAvx2Cpu);
      CHECK(compile_text(kGraph, {}, avx2).key != base.key);
    }
    CHECK(compile_text(replace_all(std::string(kGraph), "64,", "65,")).key != base.key);
  }

  TEST_CASE("a kernel repeated in a graph is compiled once") {
    // Two layers of one shape: each matmul is a kernel of its own, with the same epilogue.
    const std::string text =
        R"(graph @twice(%x: f32[64,96], %w: f32[96,96], %v: f32[96,96]) -> f32[64,96]
    where [device=cpu] {
  %0: f32[64,96] = matmul %x, %w
  %1: f32[64,96] = tanh %0
  %2: f32[64,96] = matmul %1, %v
  %3: f32[64,96] = tanh %2
  return %3
}
)";
    const ir::Graph g = optimised(text);
    const lower::CompiledGraph c = lower::compile_graph(g, lower::current_target(), {});
    CHECK(c.kernels.size() == 2);
    CHECK(c.artifact.kernels.size() == 1);
    CHECK(fuzz::artifact_round_trip(g, inputs_for(g, 1)).empty());
  }

  TEST_CASE("corrupt, truncated or foreign artifact bytes are a kiln::Error, flip by flip") {
    const std::string tiny = R"(graph @tiny(%x: f32[4]) -> f32[4]
    where [device=cpu] {
  %0: f32[4] = exp %x
  return %0
}
)";
    const std::string bytes = lower::serialize(compile_text(tiny));
    REQUIRE(bytes.size() > 100);
    int errors = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ 0x20);
      try {
        (void)lower::deserialize(bad);
        FAIL_CHECK("flipping byte ", i, " was not detected");
      } catch (const Error &) {
        ++errors;
      }
    }
    CHECK(errors == static_cast<int>(bytes.size()));
    for (size_t n = 0; n < bytes.size(); n += 7)
      CHECK_THROWS_AS((void)lower::deserialize(std::string_view(bytes).substr(0, n)), Error);
    std::string newer = bytes;
    newer[8] = static_cast<char>(lower::Artifact::kFormatVersion + 1);
    CHECK(error_message([&] { (void)lower::deserialize(newer); }) ==
          fmt::format("artifact: format version {}, this kiln reads version {}",
                      lower::Artifact::kFormatVersion + 1, lower::Artifact::kFormatVersion));
    CHECK(error_message([&] { (void)lower::deserialize("not an artifact"); }) ==
          "artifact: not a kiln artifact (15 bytes, without the 'KILNART' header)");
    // Well-formed bytes whose key is not their content's: refused, never loaded.
    lower::Artifact forged = lower::deserialize(bytes);
    forged.key = std::string(32, '0');
    CHECK(error_message([&] {
            (void)lower::deserialize(lower::serialize(forged));
          }).starts_with("artifact: its key 0000"));
  }

  TEST_CASE("an artifact whose target this host cannot run is refused at load") {
    const lower::Target host = lower::host_target();
    if (host.vector_bytes == 64) return;  // every target the test could name runs here
    lower::Artifact a = compile_text(kGraph, {}, lower::named_target("skylake-avx512"));
    CHECK(error_message([&] { (void)lower::load(a); })
              .starts_with("cpu backend: cannot load 'model': code for CPU 'skylake-avx512' "
                           "needs "));
  }

  TEST_CASE("Choices: text round-trips, bad lines are named, and compile() takes them") {
    lower::Choices c;
    c.fusion.max_kernel_members = 7;
    c.schedule.streaming = false;
    c.kernel.registers_per_value = 1;
    c.per_kernel[2] = c.kernel;  // a kernel's own entry starts from the defaults of all
    c.per_kernel[2].gemm_tile = ir::GemmTile{.mr = 4, .nr = 16, .kc = 128, .mc = 64, .nc = 512};
    CHECK(lower::Choices::parse(c.text()) == c);
    CHECK(lower::Choices::parse("") == lower::Choices{});
    CHECK(lower::Choices{}.summary() == "defaults");
    CHECK(c.summary() ==
          "fusion.max_kernel_members = 7; schedule.streaming = false; "
          "kernel.registers_per_value = 1; k2.gemm_tile = 4x16x128x64x512");
    CHECK(error_message([] { (void)lower::Choices::parse("\nfusion.max_math_depth = -1"); }) ==
          "choices line 2: fusion.max_math_depth = '-1': expected an integer in 0..1048576");
    CHECK(error_message([] { (void)lower::Choices::parse("kernel.gemm_split = diagonal"); }) ==
          "choices line 1: kernel.gemm_split = 'diagonal': expected rows or columns");
    CHECK(error_message([] { (void)lower::Choices::parse("kernel.gemm_tile = 6x16"); }) ==
          "choices line 1: kernel.gemm_tile = '6x16': expected auto or MRxNRxKCxMCxNC (5 "
          "positive integers)");
    CHECK(error_message([] {
            (void)lower::Choices::parse("schedule.nope = 1");
          }).starts_with("choices line 1: unknown key 'schedule.nope': expected one of "));

    auto fn = [](Tensor x, Tensor w) { return gelu(matmul(x, w)) + sum(tanh(x), {1}, true); };
    Tensor x = randn({96, 64}), w = randn({64, 80}) * 0.125;
    const Tensor want = fn(x, w);
    auto tuned = compile(fn, {.name = "tuned",
                              .choices = "kernel.gemm_tile = 4x16x8x8x32\n"
                                         "kernel.registers_per_value = 4\n"
                                         "kernel.min_elements_per_task = 1"});
    KILN_CHECK_CLOSE(tuned(x, w), want, {1e-4, 1e-4});
    const std::string text = explain(tuned, x, w).str();
    CHECK_MESSAGE(text.find("  choices: kernel.gemm_tile = 4x16x8x8x32; "
                            "kernel.registers_per_value = 4; kernel.min_elements_per_task = 1\n") !=
                      std::string::npos,
                  text);
    CHECK(text.find("  target: cpu ") != std::string::npos);
    CHECK(text.find("  artifact key: ") != std::string::npos);
    CHECK(error_message([&] {
            (void)compile(fn, {.name = "bad", .choices = "fusion.x = 1"});
          }).starts_with("bad: CompileOptions::choices: choices line 1: unknown key 'fusion.x'"));
    CHECK(error_message([&] {
            auto f = compile(fn, {.name = "odd", .choices = "kernel.gemm_tile = 5x10x8x8x30"});
            (void)f(x, w);
          }).starts_with("choices: kernel.gemm_tile (at k1) 5x10x8x8x30 cannot apply to f32"));
  }

  TEST_CASE("one kernel step runs alone on buffers of its real shapes") {
    const ir::Graph g = optimised(kGraph);
    const lower::Artifact a = lower::compile_graph(g, lower::current_target(), {}).artifact;
    const std::shared_ptr<const runtime::Program> program = lower::load(a);
    const std::vector<runtime::Array> inputs = inputs_for(g, 5);
    std::vector<const runtime::Array *> pointers;
    for (const runtime::Array &in : inputs) pointers.push_back(&in);
    const std::vector<runtime::Array> whole = program->run(pointers);
    int kernel_steps = 0;
    for (size_t s = 0; s < program->plan().steps.size(); ++s) {
      const auto *k = std::get_if<runtime::KernelStep>(&program->plan().steps[s]);
      if (k == nullptr) continue;
      ++kernel_steps;
      std::vector<runtime::Array> buffers = program->step_buffers(s);
      CHECK(buffers.size() == k->args.size() + (k->gemm ? 2 : 0));
      // Bind the real inputs where the step reads graph inputs, then compare its outputs
      // with the whole program's.
      const auto &slots = program->plan().slots;
      std::vector<int32_t> bound = k->args;
      if (k->gemm) bound.insert(bound.end(), {k->gemm->a, k->gemm->b});
      for (size_t i = 0; i < bound.size(); ++i)
        for (size_t in = 0; in < program->plan().inputs.size(); ++in)
          if (program->plan().inputs[in] == bound[i]) buffers[i] = inputs[in];
      program->run_step(s, buffers);
      for (size_t i = k->num_inputs; i < k->args.size(); ++i)
        for (size_t o = 0; o < program->plan().outputs.size(); ++o)
          if (program->plan().outputs[o] == k->args[i]) {
            auto tensor = [](const runtime::Array &arr) {
              return Tensor(
                  std::make_shared<detail::TensorImpl>(detail::TensorImpl{arr, nullptr, -1}));
            };
            KILN_CHECK_CLOSE(tensor(buffers[i]), tensor(whole[o]), {0, 0});
            CHECK(slots[k->args[i]].type == whole[o].type());
          }
    }
    CHECK(kernel_steps == 2);
    CHECK(error_message([&] { program->run_step(0, {}); }).find("takes") != std::string::npos);
  }
}

}  // namespace kiln::test
