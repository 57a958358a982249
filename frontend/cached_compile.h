// A graph compiled through the cache: the process's tiers (cache/store.h: the disk cache,
// then Redis when KILN_CACHE_REMOTE names one) are asked for the artifact a compile key
// recorded; a hit skips fusion, scheduling and code generation, a miss compiles, stores and
// publishes. Every failure of the cache (off, refused, a damaged entry, a full disk, Redis
// down) ends in compiling in memory, never in a wrong answer.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cache/store.h"
#include "ir/graph.h"
#include "lowering/compile_graph.h"

namespace kiln::detail {

struct CachedCompile {
  lower::Artifact artifact;
  std::optional<lower::CompiledGraph> compiled;  // when compiled now: its text for logs, dumps
  bool from_cache = false;
  bool from_remote = false;  // from the remote tier (Redis), not the disk
  std::string loaded_from;   // when from_cache: "the disk cache" or "Redis at redis://…"
};

// `fn` names the function in logs. With `read` false the cache is only written (dumps want
// every stage's text, which only a compile makes). `tune`, when set, is asked on a miss for
// the Choices to compile with (the autotuner's); `search` names it in the compile key
// ("autotune=default"), so a tuned graph is found again without searching.
[[nodiscard]] CachedCompile compile_cached(const std::string &fn, const ir::Graph &g,
                                           const lower::Target &target,
                                           const lower::Choices &choices,
                                           const lower::CompileGraphOptions &options, bool read,
                                           const std::function<lower::Choices()> &tune = {},
                                           std::string_view search = "");

// The process's cache tiers (null when off, or when the disk cache's folder was refused; the
// remote tier rides behind the disk one).
[[nodiscard]] std::shared_ptr<const cache::Store> process_cache();

}  // namespace kiln::detail
