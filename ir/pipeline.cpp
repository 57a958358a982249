// Pass pipelines: the pass table from ir/passes/passes.def, the default pipeline, and the
// runner that logs each step and verifies before and after it when KILN_VERIFY is on (the
// default in debug builds).
#include "ir/pipeline.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ir/diag.h"
#include "ir/passes/cse.h"
#include "ir/passes/dce.h"
#include "ir/passes/decompose.h"
#include "ir/passes/fold_constants.h"
#include "ir/passes/simplify.h"
#include "ir/passes/sink_reshapes.h"
#include "ir/passes/small_matmul.h"
#include "ir/passes/verify_pass.h"
#include "ir/settings.h"
#include "ir/verify.h"

namespace kiln::ir {
namespace {

struct Pass {
  std::string_view name;
  bool (*run)(Graph &g);
};

constexpr Pass kPasses[] = {
#define PASS(name, function) {name, function},
#include "ir/passes/passes.def"
#undef PASS
};

const Pass &find_pass(std::string_view name) {
  for (const Pass &p : kPasses)
    if (p.name == name) return p;
  fail("unknown pass '{}': expected one of {}", name, fmt::join(pass_names(), ", "));
}

// The comma-separated names of `pipeline`, blanks around each trimmed; empty items skipped.
std::vector<std::string_view> split_names(std::string_view pipeline) {
  std::vector<std::string_view> names;
  while (!pipeline.empty()) {
    size_t comma = pipeline.find(',');
    std::string_view item = pipeline.substr(0, comma);
    pipeline = comma == std::string_view::npos ? std::string_view() : pipeline.substr(comma + 1);
    size_t first = item.find_first_not_of(" \t\n");
    if (first == std::string_view::npos) continue;
    names.push_back(item.substr(first, item.find_last_not_of(" \t\n") - first + 1));
  }
  return names;
}

}  // namespace

std::string_view default_pipeline() {
  return "decompose,small-matmul,sink-reshapes,simplify,fold-constants,cse,dce";
}

void run_pipeline(Graph &g, std::string_view pipeline, const PassObserver &observer) {
  std::vector<const Pass *> passes;  // resolve every name before running anything
  for (std::string_view name : split_names(pipeline)) passes.push_back(&find_pass(name));
  const bool verifying = verify_passes();
  if (verifying) verify(g);
  for (const Pass *pass : passes) {
    bool changed = pass->run(g);
    if (verifying) verify(g);
    if (log_enabled(LogTopic::Passes))
      log_line(LogTopic::Passes,
               fmt::format("@{}: {}: {}", g.name, pass->name, changed ? "changed" : "unchanged"));
    if (observer) observer(pass->name, changed, g);
  }
}

std::vector<std::string> pass_names() {
  std::vector<std::string> names;
  for (const Pass &p : kPasses) names.emplace_back(p.name);
  return names;
}

}  // namespace kiln::ir
