// Autotuning (autotune/tune.h): the fastest correct variant wins, a variant whose output
// differs is rejected however fast, results are cached per kernel so a second search
// measures nothing, and compile() with a search gives eager's answers.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "autotune/tune.h"
#include "check.h"
#include "ir/parser.h"
#include "ir/pipeline.h"
#include "ir/settings.h"
#include "log_capture.h"
#include "lowering/backend.h"
#include "lowering/compile_graph.h"

namespace kiln::test {
namespace {

namespace fs = std::filesystem;

// W4's first layer at a test's size: one GEMM kernel with a bias and gelu epilogue.
constexpr std::string_view kLayer =
    R"(graph @layer(%x: f32[96,128], %w: f32[128,160], %b: f32[160]) -> f32[96,160]
    where [device=cpu] {
  %0: f32[96,160] = matmul %x, %w
  %1: f32[96,160] = broadcast[shape=[96,160]] %b
  %2: f32[96,160] = add %0, %1
  %3: f32[96,160] = gelu %2
  return %3
}
)";

ir::Graph layer() {
  ir::Graph g = ir::parse(kLayer, "<test>");
  ir::run_pipeline(g, ir::default_pipeline());
  return g;
}

std::string tile_of(const lower::KernelChoices &c) {
  return c.gemm_tile ? lower::gemm_tile_text(*c.gemm_tile) : "auto";
}

// The thread count for one test: a GEMM's variant space depends on it (the loop threads
// split is a knob only when there are threads to split it).
struct Threads {
  int saved = num_threads();
  explicit Threads(int n) { set_num_threads(n); }
  ~Threads() { set_num_threads(saved); }
};

struct TempDir {
  fs::path dir;
  explicit TempDir(std::string_view name)
      : dir(fs::temp_directory_path() / fmt::format("kiln_tune_{}_{}", name, getpid())) {
    fs::remove_all(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

TEST_SUITE("cache" * doctest::skip(!lower::backend(lower::BackendKind::Cpu).available)) {
  TEST_CASE("autotune picks the fastest correct variant and rejects a wrong one") {
    const ir::Graph g = layer();
    const lower::Target target = lower::current_target();
    // Known costs: the later a variant in the space, the cheaper; the cheapest computes a
    // wrong answer, so the second cheapest must win.
    std::vector<std::string> order;
    // No search budget: under ASan a variant's compile alone can take longer than Default's.
    autotune::Options options{
        .mode = autotune::Mode::Default, .name = "layer", .budget_ms_per_kernel = 1e9};
    options.cost = [&](int64_t, const lower::KernelChoices &c) -> std::optional<double> {
      const std::string t = tile_of(c);
      auto it = std::find(order.begin(), order.end(), t);
      if (it == order.end()) it = order.insert(order.end(), t);
      return 10.0 - static_cast<double>(it - order.begin());
    };
    std::string wrong;
    options.tamper = [&](int64_t, const lower::KernelChoices &c, std::vector<void *> outputs) {
      if (tile_of(c) != wrong) return;
      *static_cast<float *>(outputs[0]) += 1.0f;
    };
    // First pass: learn the order of the space. The table ends with the winner and the
    // heuristic timed again.
    const autotune::Result first = autotune::tune(g, target, {}, options);
    REQUIRE(first.kernels.size() == 1);
    const auto &table = first.kernels[0].table;
    REQUIRE(table.size() >= 6);
    const size_t searched = table.size() - 2;
    CHECK(table[0].variant == "heuristic");
    CHECK(first.kernels[0].chosen_text == table[searched - 1].variant);  // the cheapest
    CHECK(table[searched].variant == "heuristic, timed again");
    CHECK(table[searched + 1].variant == table[searched - 1].variant + ", timed again");
    wrong = order.back();
    const autotune::Result second = autotune::tune(g, target, {}, options);
    const auto &t2 = second.kernels[0].table;
    REQUIRE(t2.size() == table.size());
    CHECK(t2[searched - 1].rejected);
    CHECK(t2[searched - 1].why.starts_with("output 0 differs from the heuristic's: element 0:"));
    CHECK(second.kernels[0].chosen_text == t2[searched - 2].variant);
    CHECK(tile_of(second.choices.per_kernel.at(0)) == order[order.size() - 2]);
    const std::string text = autotune::describe(second, "layer");
    CHECK(text.find("rejected: output 0 differs") != std::string::npos);
  }

  TEST_CASE("a winner that is no faster when timed again loses to the heuristic") {
    const Threads one(1);
    const ir::Graph g = layer();
    autotune::Options options{
        .mode = autotune::Mode::Default, .name = "layer", .budget_ms_per_kernel = 1e9};
    // One variant looks fast once (a quiet moment), then as slow as it is.
    std::string lucky;
    options.cost = [&](int64_t, const lower::KernelChoices &c) -> std::optional<double> {
      if (!c.gemm_tile) return 10.0;  // the heuristic
      if (lucky.empty()) {
        lucky = tile_of(c);
        return 1.0;
      }
      return 20.0;
    };
    const autotune::Result r = autotune::tune(g, lower::current_target(), {}, options);
    REQUIRE(r.kernels.size() == 1);
    const auto &table = r.kernels[0].table;
    REQUIRE(table.size() >= 4);
    CHECK(table[1].variant == "gemm_tile=" + lucky);
    CHECK(table[1].median_ms == 1.0);
    CHECK(table[table.size() - 2].variant == "heuristic, timed again");
    CHECK(table[table.size() - 2].median_ms == 10.0);
    CHECK(table.back().variant == "gemm_tile=" + lucky + ", timed again");
    CHECK(table.back().median_ms == 20.0);
    CHECK(r.kernels[0].chosen_text == "heuristic");
    CHECK(r.choices.per_kernel.empty());
  }

  TEST_CASE("with threads, a GEMM's search tries splitting its columns instead of its rows") {
    const ir::Graph g = layer();
    autotune::Options options{
        .mode = autotune::Mode::Default, .name = "layer", .budget_ms_per_kernel = 1e9};
    options.cost = [&](int64_t, const lower::KernelChoices &c) -> std::optional<double> {
      return c.gemm_split_columns ? 1.0 : 10.0;
    };
    for (int threads : {1, 2}) {
      CAPTURE(threads);
      const Threads scope(threads);
      const autotune::Result r = autotune::tune(g, lower::current_target(), {}, options);
      REQUIRE(r.kernels.size() == 1);
      const auto &table = r.kernels[0].table;
      const bool tried = std::any_of(table.begin(), table.end(), [](const auto &row) {
        return row.variant == "gemm_split=columns";
      });
      CHECK(tried == (threads > 1));
      if (threads > 1) {
        CHECK(r.kernels[0].chosen_text == "gemm_split=columns");
        CHECK(r.choices.per_kernel.at(0).gemm_split_columns);
      }
    }
  }

  TEST_CASE("a kernel quicker than the threshold is not searched") {
    const Threads one(1);
    const ir::Graph g = layer();
    const autotune::Options options{.mode = autotune::Mode::Default,
                                    .name = "layer",
                                    .budget_ms_per_kernel = 1e9,
                                    .min_kernel_ms = 1000};
    const autotune::Result r = autotune::tune(g, lower::current_target(), {}, options);
    REQUIRE(r.kernels.size() == 1);
    const auto &table = r.kernels[0].table;
    REQUIRE(table.size() == 2);
    CHECK(table[0].variant == "heuristic");
    CHECK(table[1].variant == "(6 more not tried: the heuristic takes under 1000 ms)");
    CHECK(r.kernels[0].chosen_text == "heuristic");
  }

  TEST_CASE("a tuned kernel is measured once: the next search reads the cache") {
    TempDir tmp("cache");
    std::string why;
    std::shared_ptr<const cache::DiskCache> cache =
        cache::DiskCache::open(tmp.dir.string(), 0, why);
    REQUIRE(cache != nullptr);
    const cache::Store store(cache, nullptr);
    const ir::Graph g = layer();
    const lower::Target target = lower::current_target();
    const autotune::Options options{.mode = autotune::Mode::Default,
                                    .name = "layer",
                                    .cache = &store,
                                    .budget_ms_per_variant = 2,
                                    .budget_ms_per_kernel = 1e9,
                                    .min_kernel_ms = 0};
    const autotune::Result first = autotune::tune(g, target, {}, options);
    REQUIRE(first.kernels.size() == 1);
    CHECK(!first.kernels[0].from_cache);
    CHECK(first.kernels[0].table.size() >= 4);
    // The record holds the chosen knobs and, as comments, the table measured.
    int records = 0;
    for (const cache::EntryInfo &e : cache->list()) {
      if (e.kind != cache::Kind::Tuning) continue;
      ++records;
      const std::optional<std::string> text = cache->read(e.kind, e.key, why);
      REQUIRE(text.has_value());
      CHECK_MESSAGE(text->starts_with("# layer.k0 (gemm [96,128] x [128,160]): chosen "), *text);
      CHECK(text->find("\nkernel.gemm_tile = ") != std::string::npos);
      CHECK(text->find("\n# heuristic ") != std::string::npos);
      CHECK(text->find(" ms\n") != std::string::npos);
    }
    CHECK(records == 1);
    const autotune::Result second = autotune::tune(g, target, {}, options);
    CHECK(second.kernels[0].from_cache);
    CHECK(second.kernels[0].table.empty());  // zero measurements
    CHECK(second.choices == first.choices);
  }

  TEST_CASE("row and pointwise kernels: Max tries registers, grain, streaming and scratch") {
    // Three tanh in a row are three kernels (one math function each) with one code: the
    // search measures the first and gives all three its choice.
    ir::Graph chain = ir::parse(R"(graph @chain(%x: f32[64,256]) -> f32[64,256] where [device=cpu] {
  %0: f32[64,256] = tanh %x
  %1: f32[64,256] = tanh %0
  %2: f32[64,256] = tanh %1
  return %2
}
)",
                                "<test>");
    ir::run_pipeline(chain, ir::default_pipeline());
    const lower::Target target = lower::current_target();
    const lower::CompiledGraph compiled = lower::compile_graph(chain, target, {});
    REQUIRE(compiled.kernels.size() == 3);
    REQUIRE(compiled.artifact.kernels.size() == 1);  // one code for the three
    autotune::Options options{
        .mode = autotune::Mode::Default, .name = "chain", .budget_ms_per_kernel = 1e9};
    options.cost = [](int64_t, const lower::KernelChoices &c) -> std::optional<double> {
      return c.registers_per_value == 4 && c.min_elements_per_task == 65536 ? 1.0 : 5.0;
    };
    CHECK(autotune::tune(chain, target, {}, options).kernels.empty());  // Default: GEMMs only
    options.mode = autotune::Mode::Max;
    const autotune::Result r = autotune::tune(chain, target, {}, options);
    REQUIRE(r.kernels.size() == 1);
    const auto &table = r.kernels[0].table;
    CHECK(table.size() == 12);  // the heuristic, 3 registers x 3 grains, 2 timed again
    CHECK(table[0].variant == "heuristic");
    CHECK(table[1].variant == "registers_per_value=1, min_elements_per_task=4096");
    CHECK(r.kernels[0].chosen_text == "registers_per_value=4, min_elements_per_task=65536");
    REQUIRE(r.choices.per_kernel.size() == 3);
    for (const auto &[k, c] : r.choices.per_kernel) CHECK(c.registers_per_value == 4);
    CHECK(lower::compile_graph(chain, target, r.choices).artifact.kernels.size() == 1);

    // A row kernel that stages exp(x - max) in a row of scratch also tries it without.
    ir::Graph rows = ir::parse(R"(graph @rows(%x: f32[64,512]) -> f32[64,512] where [device=cpu] {
  %0: f32[64,512] = softmax[dim=1] %x
  return %0
}
)",
                               "<test>");
    ir::run_pipeline(rows, ir::default_pipeline());
    options.name = "rows";
    options.cost = [](int64_t, const lower::KernelChoices &c) -> std::optional<double> {
      return c.row_scratch ? 5.0 : 1.0;
    };
    const autotune::Result rr = autotune::tune(rows, target, {}, options);
    REQUIRE(rr.kernels.size() == 1);
    int without_scratch = 0;
    for (const autotune::Measured &m : rr.kernels[0].table)
      if (m.variant.find("row_scratch=false") != std::string::npos &&
          !m.variant.ends_with("timed again")) {
        ++without_scratch;
        CHECK_MESSAGE(!m.rejected, m.why);  // computes the same without it
      }
    CHECK(without_scratch == 9);
    CHECK(rr.kernels[0].chosen_text.ends_with("row_scratch=false"));
    const lower::CompiledGraph plain = lower::compile_graph(rows, target, rr.choices);
    CHECK(plain.kernels_text.find("row scratch") == std::string::npos);
    CHECK(lower::compile_graph(rows, target, {}).kernels_text.find("row scratch") !=
          std::string::npos);
  }

  TEST_CASE("compile() with a search gives eager's answers and says what it chose") {
    TempDir tmp("compile");
    set_cache_dir(tmp.dir.string());
    set_autotune_setting("");
    Tensor x = randn({96, 128}), w = randn({128, 160}) * 0.1, b = randn({160});
    auto fn = [](Tensor x, Tensor w, Tensor b) { return gelu(matmul(x, w) + b); };
    const Tensor want = fn(x, w, b);
    {
      LogCapture logs("autotune");
      auto f = compile(fn, {.name = "layer", .autotune = AutotuneMode::Default});
      KILN_CHECK_CLOSE(f(x, w, b), want, {1e-4, 1e-4});
      const std::vector<std::string> lines = logs.lines();
      REQUIRE(!lines.empty());
      CHECK(lines[0].starts_with("autotune: layer: autotune searched 1 kernel(s) in "));
    }
    {
      LogCapture logs("autotune");  // the tuned artifact is found again: no search at all
      auto f = compile(fn, {.name = "layer", .autotune = AutotuneMode::Default});
      KILN_CHECK_CLOSE(f(x, w, b), want, {1e-4, 1e-4});
      CHECK(logs.lines().empty());
      CHECK(explain(f, x, w, b).entries.at(0).origin.starts_with("loaded from the disk cache"));
    }
    set_autotune_setting("off");
    set_cache_dir("");
  }
}

}  // namespace kiln::test
