// kiln-report: KILN_TRACE's JSON lines (ir/trace.h) as a static HTML site — no server, no
// script, one folder to open or copy: an index of the compiled functions (entries,
// recompiles with their reasons, graph breaks, fallbacks, compile time) and a page per
// entry (guards; the graph after tracing, after each pass with a diff against the one
// before, and optimized; the fused graph as a picture drawn by Graphviz; kernel IR; the
// autotune table; cache outcomes; a bar per compile stage). Exit codes are tools/cli.h's.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "ir/diag.h"
#include "ir/graph.h"
#include "ir/parser.h"
#include "lowering/fusion.h"
#include "lowering/fusion_dot.h"
#include "tools/cli.h"

namespace {

namespace cli = kiln::cli;
namespace fs = std::filesystem;
using nlohmann::json;

struct Options {
  std::string input;
  std::string output = "kiln-report";
};

cli::Parser make_parser(Options &o) {
  cli::Parser p("kiln-report", "kiln-report [--output=DIR] TRACE.jsonl",
                "Writes a static HTML report of a KILN_TRACE file: index.html lists the compiled\n"
                "functions with their entries, recompiles, graph breaks and compile times; each\n"
                "entry has a page with its guards, graphs by pass (with diffs), fused graph\n"
                "picture (Graphviz's dot), kernel IR, autotune table and compile stages.");
  p.option("--output", "DIR", "the report's folder (default kiln-report; made if missing)",
           [&o](std::string_view v) { o.output = v; });
  p.positional([&o](std::string_view v) { o.input = v; });
  p.exit_codes({{cli::kExitOk, "success"},
                {cli::kExitUsage, "usage error: no trace file, unknown option"},
                {cli::kExitBadInput,
                 "the trace cannot be read, a line is not a JSON object, or the report's\n"
                 "folder cannot be written"},
                {cli::kExitInternal, "internal error (a bug in kiln) or out of memory"}});
  return p;
}

struct Entry {
  int64_t pid = 0, number = 0;
  std::string function;
  std::vector<std::pair<std::string, std::string>> graphs;  // (stage, IR text)
  std::string guards, fused, kernels, autotune, timing, origin, artifact;
  std::vector<std::string> cache;  // "miss: why", "stored: ...", "hit: ..."
  double trace_ms = -1, passes_ms = -1, total_ms = -1, backend_ms = -1, search_ms = 0;
  int64_t nodes = 0, kernel_count = 0;
  std::string broke_at, break_reason, fallback;
  std::string page;  // file name
};

struct Function {
  std::string name;
  int64_t pid = 0;
  std::vector<Entry *> entries;
  std::vector<std::string> recompiles;
  std::string limit;
};

struct Report {
  std::vector<std::unique_ptr<Entry>> entries;
  std::map<std::pair<int64_t, std::string>, Function> functions;  // by (pid, name)
  std::vector<std::string> profiles;
};

std::string html(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string str(const json &e, const char *key) {
  auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double num(const json &e, const char *key, double fallback = -1) {
  auto it = e.find(key);
  return it != e.end() && it->is_number() ? it->get<double>() : fallback;
}

// Reads the trace; a line that is not a JSON object is bad input, named by its number.
Report read_trace(const std::string &path) {
  std::ifstream in(path);
  if (!in) kiln::fail("kiln-report: cannot read '{}': {}", path, std::strerror(errno));
  Report r;
  std::map<std::tuple<int64_t, std::string, int64_t>, Entry *> by_key;
  std::map<std::pair<int64_t, std::string>, Entry *> latest;  // events without an entry
  const bool progress = isatty(STDERR_FILENO) != 0;
  int64_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    json e = json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.is_object() || !e.contains("event"))
      kiln::fail("kiln-report: {}:{}: not a trace event (a JSON object with \"event\")", path,
                 line_no);
    if (progress && line_no % 1000 == 0)
      fmt::print(stderr, "\r[kiln-report] read {} events", line_no);
    const std::string event = str(e, "event"), fn = str(e, "function");
    const auto pid = static_cast<int64_t>(num(e, "pid", 0));
    if (event == "profile") {
      r.profiles.push_back(str(e, "text"));
      continue;
    }
    if (fn.empty()) continue;
    Function &f = r.functions[{pid, fn}];
    f.name = fn;
    f.pid = pid;
    if (event == "recompile") {
      f.recompiles.push_back(str(e, "reason"));
      continue;
    }
    if (event == "recompile_limit") {
      f.limit = str(e, "reason");
      continue;
    }
    Entry *entry = nullptr;
    if (e.contains("entry")) {
      const auto number = static_cast<int64_t>(num(e, "entry", 0));
      Entry *&slot = by_key[{pid, fn, number}];
      if (slot == nullptr) {
        r.entries.push_back(std::make_unique<Entry>());
        slot = r.entries.back().get();
        slot->pid = pid;
        slot->number = number;
        slot->function = fn;
        f.entries.push_back(slot);
      }
      entry = slot;
      latest[{pid, fn}] = entry;
    } else if (auto it = latest.find({pid, fn}); it != latest.end()) {
      entry = it->second;
    }
    if (entry == nullptr) continue;
    if (event == "graph")
      entry->graphs.emplace_back(str(e, "stage"), str(e, "text"));
    else if (event == "guards")
      entry->guards = str(e, "text");
    else if (event == "fused")
      entry->fused = str(e, "text");
    else if (event == "kernels")
      entry->kernels = str(e, "text");
    else if (event == "cache")
      entry->cache.push_back(fmt::format("{}: {}", str(e, "outcome"), str(e, "detail")));
    else if (event == "autotune") {
      entry->autotune = str(e, "text");
      entry->search_ms = num(e, "search_ms", 0);
    } else if (event == "compiled") {
      entry->origin = str(e, "origin");
      entry->backend_ms = num(e, "ms");
      entry->timing = str(e, "timing");
      entry->kernel_count = static_cast<int64_t>(num(e, "kernels", 0));
      entry->artifact = str(e, "artifact");
    } else if (event == "compile_end") {
      entry->trace_ms = num(e, "trace_ms");
      entry->passes_ms = num(e, "passes_ms");
      entry->total_ms = num(e, "total_ms");
      entry->nodes = static_cast<int64_t>(num(e, "nodes", 0));
    } else if (event == "graph_break") {
      entry->broke_at = str(e, "op");
      entry->break_reason = str(e, "reason");
    } else if (event == "fallback") {
      entry->fallback = str(e, "reason");
    }
  }
  if (progress && line_no >= 1000) fmt::print(stderr, "\r[kiln-report] read {} events\n", line_no);
  return r;
}

std::vector<std::string> lines_of(const std::string &text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = std::min(text.find('\n', at), text.size());
    out.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

// A line diff (longest common subsequence) as HTML: removed lines red, added green, kept
// plain. Past a few million cells it says so instead (a huge graph's diff is unreadable).
std::string diff_html(const std::string &before, const std::string &after) {
  const std::vector<std::string> a = lines_of(before), b = lines_of(after);
  if (a.size() * b.size() > 4'000'000) return "<p>(too large to diff)</p>";
  std::vector<std::vector<int>> lcs(a.size() + 1, std::vector<int>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;)
    for (size_t j = b.size(); j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::string out = "<pre class=\"diff\">";
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      out += "  " + html(a[i++]) + "\n";
      ++j;
    } else if (j < b.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out += "<span class=\"add\">+ " + html(b[j++]) + "</span>\n";
    } else {
      out += "<span class=\"del\">- " + html(a[i++]) + "</span>\n";
    }
  }
  return out + "</pre>";
}

// The optimized graph fused and drawn by `dot -Tsvg`, or a sentence saying why not.
std::string fused_svg(const std::string &graph_text, const fs::path &scratch) {
  static const bool have_dot = std::system("command -v dot > /dev/null 2>&1") == 0;
  if (!have_dot) return "<p>(no picture: Graphviz's <code>dot</code> is not installed)</p>";
  std::string dot;
  try {
    const kiln::ir::Graph g = kiln::ir::parse(graph_text, "<trace>");
    const kiln::lower::FusionPlan plan = kiln::lower::fuse(g);
    dot = kiln::lower::graph_dot(g, &plan);
  } catch (const kiln::Error &e) {
    return fmt::format("<p>(no picture: {})</p>", html(e.what()));
  }
  std::ofstream(scratch) << dot;
  const std::string cmd = fmt::format("dot -Tsvg '{}' 2>/dev/null", scratch.string());
  std::unique_ptr<FILE, int (*)(FILE *)> pipe(popen(cmd.c_str(), "r"), &pclose);
  if (!pipe) return "<p>(no picture: cannot run dot)</p>";
  std::string svg;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe.get())) svg.append(buf, n);
  const size_t start = svg.find("<svg");
  return start == std::string::npos ? "<p>(no picture: dot failed)</p>" : svg.substr(start);
}

constexpr std::string_view kStyle = R"(<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; } td, th { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f3f3f3; } pre { background: #f8f8f8; padding: 0.6em; overflow-x: auto; font-size: 12px; }
details { margin: 0.4em 0; } summary { cursor: pointer; font-weight: bold; }
.add { color: #1a7f37; background: #e6ffec; } .del { color: #b42318; background: #ffebe9; }
.bad { color: #b42318; } .picture svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
</style>)";

std::string page(const std::string &title, const std::string &body) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>{}"
      "</head><body>\n<h1>{}</h1>\n{}\n</body></html>\n",
      html(title), kStyle, html(title), body);
}

// Compile stages as horizontal bars, one scale for all.
std::string stage_bars(const Entry &e) {
  std::vector<std::pair<std::string, double>> stages;
  if (e.trace_ms >= 0) stages.emplace_back("trace", e.trace_ms);
  if (e.passes_ms >= 0) stages.emplace_back("passes", e.passes_ms);
  if (e.search_ms > 0) stages.emplace_back("autotune search", e.search_ms);
  if (e.backend_ms >= 0)
    stages.emplace_back(
        e.origin.ends_with(" cache") ? "load from " + e.origin : "fuse, schedule, LLVM",
        std::max(0.0, e.backend_ms - e.search_ms));
  if (stages.empty()) return "<p>(no times recorded)</p>";
  double most = 0;
  for (const auto &[name, ms] : stages) most = std::max(most, ms);
  std::string out =
      fmt::format("<svg width=\"720\" height=\"{}\" role=\"img\">", 24 * stages.size() + 4);
  for (size_t i = 0; i < stages.size(); ++i) {
    const double width = most > 0 ? 480.0 * stages[i].second / most : 0;
    out += fmt::format(
        "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"150\" y=\"{}\" "
        "width=\"{:.1f}\" "
        "height=\"16\" fill=\"#6fa8dc\"/><text x=\"{:.1f}\" y=\"{}\" font-size=\"12\">{:.2f} "
        "ms</text>",
        24 * i + 16, html(stages[i].first), 24 * i + 4, width, 156 + width, 24 * i + 16,
        stages[i].second);
  }
  return out + "</svg>";
}

std::string pre(const std::string &text) { return "<pre>" + html(text) + "</pre>"; }

std::string details(const std::string &summary, const std::string &inner, bool open = false) {
  return fmt::format("<details{}><summary>{}</summary>{}</details>\n", open ? " open" : "",
                     html(summary), inner);
}

std::string entry_page(const Entry &e, const Function &f, const fs::path &scratch) {
  std::string body =
      fmt::format("<p><a href=\"index.html\">all functions</a> · process {}</p>\n", e.pid);
  if (!e.broke_at.empty())
    body += fmt::format(
        "<p class=\"bad\">graph break at <code>{}</code>: {} — this guard set "
        "runs eagerly</p>\n",
        html(e.broke_at), html(e.break_reason));
  if (!e.fallback.empty())
    body += fmt::format("<p class=\"bad\">runs eagerly: {}</p>\n", html(e.fallback));
  if (e.number > 0 && static_cast<size_t>(e.number - 1) < f.recompiles.size())
    body += fmt::format("<p>compiled because: {}</p>\n", html(f.recompiles[e.number - 1]));
  body += "<h2>Compile stages</h2>\n" + stage_bars(e);
  if (e.total_ms >= 0)
    body += fmt::format("<p>{:.2f} ms in all, {} nodes, {} distinct kernels{}</p>\n", e.total_ms,
                        e.nodes, e.kernel_count,
                        e.origin.empty() ? "" : fmt::format(", code {}", html(e.origin)));
  if (!e.timing.empty()) body += fmt::format("<p>backend: {}</p>\n", html(e.timing));
  body += "<h2>Guards</h2>\n" + pre(e.guards);
  if (!e.graphs.empty()) {
    body += "<h2>Graphs</h2>\n";
    for (size_t i = 0; i < e.graphs.size(); ++i) {
      const auto &[stage, text] = e.graphs[i];
      std::string inner = pre(text);
      if (i > 0 && stage != "optimized")
        inner = "<p>against the graph before:</p>" + diff_html(e.graphs[i - 1].second, text) +
                details("whole graph", inner);
      body += details(stage == "traced"      ? "traced"
                      : stage == "optimized" ? "optimized"
                                             : "after " + stage,
                      inner, stage == "optimized");
    }
    body += "<h2>Fused graph</h2>\n<div class=\"picture\">" +
            fused_svg(e.graphs.back().second, scratch) + "</div>\n";
  }
  if (!e.fused.empty()) body += details("kernel groups", pre(e.fused));
  if (!e.kernels.empty()) body += details("kernel IR", pre(e.kernels));
  if (!e.autotune.empty()) body += details("autotune", pre(e.autotune));
  if (!e.cache.empty()) {
    std::string lines;
    for (const std::string &c : e.cache) lines += c + "\n";
    body += details("disk cache", pre(lines));
  }
  return page(fmt::format("{} — entry {}", e.function, e.number), body);
}

// A function's name as part of a file name: letters, digits, '-' and '_' kept.
std::string file_name(std::string_view name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out.empty() ? "fn" : out;
}

int run(const Options &o) {
  if (o.input.empty()) cli::usage_error("expected a trace file (KILN_TRACE's output)");
  Report r = read_trace(o.input);
  std::error_code ec;
  fs::create_directories(o.output, ec);
  if (ec) kiln::fail("kiln-report: cannot make '{}': {}", o.output, ec.message());
  const fs::path scratch = fs::path(o.output) / ".graph.dot";
  auto write = [&](const std::string &name, const std::string &text) {
    std::ofstream out(fs::path(o.output) / name, std::ios::binary);
    if (!out || !(out << text) || !out.flush())
      kiln::fail("kiln-report: cannot write '{}': {}", (fs::path(o.output) / name).string(),
                 std::strerror(errno));
  };
  std::string rows;
  size_t pages = 0;
  for (auto &[key, f] : r.functions) {
    std::string links;
    int breaks = 0, fallbacks = 0;
    double ms = 0;
    for (Entry *e : f.entries) {
      e->page = fmt::format("{}-{}-{}.html", file_name(f.name), f.pid, e->number);
      write(e->page, entry_page(*e, f, scratch));
      ++pages;
      breaks += !e->broke_at.empty();
      fallbacks += !e->fallback.empty();
      ms += std::max(0.0, e->total_ms);
      links += fmt::format("<a href=\"{}\">{}</a> ", e->page, e->number);
    }
    std::string reasons;
    for (const std::string &why : f.recompiles) reasons += "<li>" + html(why) + "</li>";
    if (!f.limit.empty())
      reasons += "<li class=\"bad\">recompile limit hit; new guard sets run eagerly</li>";
    rows += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1f}</td><td>{}</td>"
        "<td><ul>{}</ul></td></tr>\n",
        html(f.name), f.pid, f.entries.size(), breaks, fallbacks, ms, links, reasons);
  }
  std::string body = fmt::format(
      "<p>{} compiled function(s), {} entries, from <code>{}</code></p>\n<table><tr><th>function"
      "</th><th>process</th><th>entries</th><th>graph breaks</th><th>eager fallbacks</th>"
      "<th>compile ms</th><th>entry pages</th><th>recompile reasons</th></tr>\n{}</table>\n",
      r.functions.size(), r.entries.size(), html(o.input), rows);
  for (const std::string &profile : r.profiles) body += "<h2>Profile</h2>\n" + pre(profile);
  write("index.html", page("kiln compile report", body));
  fs::remove(scratch, ec);
  std::cout << fmt::format("wrote {} (index.html and {} entry pages)\n", o.output, pages);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  Options o;
  cli::Parser parser = make_parser(o);
  parser.parse(argc, argv);
  return cli::run_main(parser, [&] { return run(o); });
}
