// KILN_TRACE (ir/trace.h): a compile, a recompile and a graph break write their events in
// order, each line one JSON object with the documented fields; kiln-report makes a site of it,
// whose pages headless Chromium opens without console errors and draws.
#include "ir/trace.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "check.h"
#include "ir/settings.h"
#include "kiln/kiln.h"
#include "lowering/backend.h"

namespace kiln::test {

TEST_SUITE("compile" * doctest::skip(!lower::backend(lower::BackendKind::Cpu).available)) {
  TEST_CASE("the compile trace: every event of a compile, a recompile and a break, in order") {
    const auto path =
        std::filesystem::temp_directory_path() / fmt::format("kiln_trace_{}.jsonl", getpid());
    std::filesystem::remove(path);
    const auto cache =
        std::filesystem::temp_directory_path() / fmt::format("kiln_trace_cache_{}", getpid());
    std::filesystem::remove_all(cache);
    set_cache_dir(cache.string());
    trace::set_file(path.string());
    {
      CompileOptions o{.name = "traced", .arg_names = {"x"}};
      o.dynamic = Dynamic::Off;
      auto f = compile([](Tensor x) { return softmax(x * 2.0, -1); }, o);
      (void)f(randn({4, 8}));
      (void)f(randn({5, 8}));  // a recompile
      auto g = compile(
          [](Tensor x) {
            const double m = max(x).item<double>();  // a graph break
            return x / m;
          },
          {.name = "broken", .arg_names = {"x"}});
      (void)g(from_vector<float>({1, 2, 4}));
    }
    trace::set_file("");
    set_cache_dir("");
    std::filesystem::remove_all(cache);
    std::ifstream in(path);
    std::vector<nlohmann::json> events;
    for (std::string line; std::getline(in, line);) events.push_back(nlohmann::json::parse(line));
    std::filesystem::remove(path);
    std::vector<std::string> names;
    for (const auto &e : events) {
      CHECK(e.at("ts_us").get<int64_t>() > 0);
      CHECK(e.at("pid").get<int64_t>() == getpid());
      std::string name = e.at("event").get<std::string>();
      if (name == "graph") name += ":" + e.at("stage").get<std::string>();
      if (name == "cache") name += ":" + e.at("outcome").get<std::string>();
      names.push_back(name);
    }
    // The first compile, with the passes that changed its graph.
    const std::vector<std::string> first = {"compile_start",   "graph:traced", "graph:decompose",
                                            "graph:optimized", "guards",       "cache:miss",
                                            "cache:stored",    "fused",        "kernels",
                                            "compiled",        "compile_end"};
    REQUIRE(names.size() > first.size());
    CHECK_MESSAGE(std::vector<std::string>(names.begin(), names.begin() + first.size()) == first,
                  fmt::format("{}", fmt::join(names, ", ")));
    CHECK(events[0].at("function") == "traced");
    CHECK(events[0].at("entry") == 0);
    CHECK(events[1].at("text").get<std::string>().starts_with("graph @traced(%x: f32[4,8])"));
    const auto &end = events[first.size() - 1];
    CHECK(end.at("trace_ms").get<double>() >= 0);
    CHECK(end.at("passes_ms").get<double>() >= 0);
    CHECK(end.at("total_ms").get<double>() >= end.at("trace_ms").get<double>());
    CHECK(events[first.size() - 2].at("origin") == "compiled");
    CHECK(events[first.size() - 2].at("kernels").get<int64_t>() >= 1);
    // The recompile names its reason, then compiles entry 1.
    const auto recompile = std::find(names.begin(), names.end(), "recompile");
    REQUIRE(recompile != names.end());
    const auto &r = events[static_cast<size_t>(recompile - names.begin())];
    CHECK(r.at("function") == "traced");
    CHECK(r.at("reason") == "tensor 'x' (arg 0) size mismatch at dim 0: expected 4, got 5");
    CHECK(*(recompile + 1) == "compile_start");
    CHECK(events[static_cast<size_t>(recompile - names.begin()) + 1].at("entry") == 1);
    // The break: the op and why, for the other function.
    const auto brk = std::find(names.begin(), names.end(), "graph_break");
    REQUIRE(brk != names.end());
    const auto &b = events[static_cast<size_t>(brk - names.begin())];
    CHECK(b.at("function") == "broken");
    CHECK(b.at("op") == "item");
    CHECK(b.at("reason").get<std::string>().starts_with("it needs the tensor's values"));
  }
}

namespace {

struct Run {
  int status;
  std::string output;
};

Run run_report(const std::string &args) {
  Run r{};
  r.output = run_capture(std::string(KILN_REPORT_PATH) + " " + args, &r.status);
  return r;
}

// A fresh `dir` holding trace.jsonl: one function compiled, then recompiled for a new size.
void write_trace(const std::filesystem::path &dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  set_cache_dir("");
  trace::set_file((dir / "trace.jsonl").string());
  {
    CompileOptions o{.name = "reported", .arg_names = {"x"}};
    o.dynamic = Dynamic::Off;
    auto f = compile([](Tensor x) { return layer_norm(gelu(x) + 1.0, {8}); }, o);
    (void)f(randn({4, 8}));
    (void)f(randn({6, 8}));
  }
  trace::set_file("");
}

// Headless Chromium's screenshot of `url` into `png`, with what the page logged to its
// console ("CONSOLE" lines of Chromium's log) in `console`; false when it made no picture.
bool screenshot(const std::string &url, const std::filesystem::path &png, std::string &console) {
  std::filesystem::remove(png);
  const std::string log = run_capture(fmt::format(
      "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,900 "
      "--enable-logging=stderr --v=0 --screenshot='{}' '{}'",
      png.string(), url));
  console.clear();
  for (size_t at = 0; at < log.size();) {
    const size_t end = std::min(log.find('\n', at), log.size());
    const std::string line = log.substr(at, end - at);
    if (line.find(":CONSOLE") != std::string::npos) console += line + "\n";
    at = end + 1;
  }
  return std::filesystem::exists(png) && std::filesystem::file_size(png) > 0;
}

}  // namespace

TEST_SUITE("compile" * doctest::skip(!lower::backend(lower::BackendKind::Cpu).available)) {
  TEST_CASE("kiln-report: an index of functions and a page per entry, pictures included") {
    const auto dir =
        std::filesystem::temp_directory_path() / fmt::format("kiln_report_{}", getpid());
    const auto path = dir / "trace.jsonl";
    write_trace(dir);
    const auto out = dir / "report";
    Run r = run_report(fmt::format("--output='{}' '{}'", out.string(), path.string()));
    CHECK_MESSAGE(r.status == 0, r.output);
    CHECK(r.output == fmt::format("wrote {} (index.html and 2 entry pages)\n", out.string()));
    const std::string index = read_bytes(out / "index.html");
    CHECK(index.starts_with("<!DOCTYPE html>"));
    CHECK(index.find("<td>reported</td>") != std::string::npos);
    CHECK(index.find("<li>tensor 'x' (arg 0) size mismatch at dim 0: expected 4, got 6</li>") !=
          std::string::npos);
    const std::string first = fmt::format("reported-{}-0.html", getpid());
    CHECK(index.find(fmt::format("<a href=\"{}\">0</a>", first)) != std::string::npos);
    const std::string entry = read_bytes(out / first);
    CHECK(entry.find("<h2>Compile stages</h2>\n<svg") != std::string::npos);
    CHECK(entry.find("<summary>after decompose</summary>") != std::string::npos);
    CHECK(entry.find("<span class=\"add\">+ ") != std::string::npos);  // the pass's diff
    CHECK(entry.find("<div class=\"picture\"><svg") != std::string::npos);
    CHECK(entry.find("<summary>kernel IR</summary>") != std::string::npos);
    const std::string second = read_bytes(out / fmt::format("reported-{}-1.html", getpid()));
    CHECK(second.find("<p>compiled because: tensor 'x' (arg 0) size mismatch") !=
          std::string::npos);

    // Bad input: each a message and exit 3; no trace file: exit 2.
    std::ofstream(dir / "bad.jsonl") << "{\"event\": \"graph\"}\nnot json\n";
    r = run_report(fmt::format("--output='{}' '{}'", out.string(), (dir / "bad.jsonl").string()));
    CHECK(r.status == 3);
    CHECK(r.output.find(fmt::format("kiln-report: {}:2: not a trace event (a JSON object with "
                                    "\"event\")",
                                    (dir / "bad.jsonl").string())) != std::string::npos);
    r = run_report((dir / "missing.jsonl").string());
    CHECK(r.status == 3);
    CHECK(r.output.find("kiln-report: cannot read '") != std::string::npos);
    r = run_report("");
    CHECK(r.status == 2);
    CHECK(r.output.find("expected a trace file") != std::string::npos);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("kiln-report's pages open in headless Chromium: no console errors, not blank") {
    // tools/setup.sh installs Debian's chromium; README's screenshot is this test's (copied
    // from the folder it names when KILN_REPORT_SCREENSHOTS is set).
    REQUIRE_MESSAGE(run_capture("command -v chromium").find("chromium") != std::string::npos,
                    "chromium not found (tools/setup.sh installs it)");
    const auto dir =
        std::filesystem::temp_directory_path() / fmt::format("kiln_report_shot_{}", getpid());
    write_trace(dir);
    const auto out = dir / "report";
    Run r =
        run_report(fmt::format("--output='{}' '{}'", out.string(), (dir / "trace.jsonl").string()));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    std::string console;
    // A blank page of the same size, for what "nothing drawn" compresses to.
    std::ofstream(dir / "blank.html") << "<!DOCTYPE html><html><body></body></html>\n";
    REQUIRE(screenshot("file://" + (dir / "blank.html").string(), dir / "blank.png", console));
    const auto blank = std::filesystem::file_size(dir / "blank.png");
    for (const std::string &page :
         {std::string("index.html"), fmt::format("reported-{}-0.html", getpid())}) {
      CAPTURE(page);
      const auto png = dir / (page + ".png");
      REQUIRE(screenshot("file://" + (out / page).string(), png, console));
      CHECK_MESSAGE(console.empty(), console);
      // Text, tables and a graph compress to several times what a blank page does.
      CHECK_MESSAGE(std::filesystem::file_size(png) > 4 * blank, std::filesystem::file_size(png),
                    " bytes vs blank ", blank);
      if (const char *keep = std::getenv("KILN_REPORT_SCREENSHOTS"))
        std::filesystem::copy_file(png, std::filesystem::path(keep) / png.filename(),
                                   std::filesystem::copy_options::overwrite_existing);
    }
    std::filesystem::remove_all(dir);
  }
}

}  // namespace kiln::test
