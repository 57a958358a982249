// Choices: every tuning knob of the compile path in one value. The defaults are the
// heuristics measured in the comments of choices.cpp; the autotuner varies them. Per-graph
// knobs (fusion caps, scheduling thresholds) and per-kernel ones (GEMM tile, registers per
// value, parallel grain) are both here. The text form ("fusion.max_kernel_members = 48", one
// per line) round-trips exactly and is what explain(), dumps and the content key read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ir/gemm_tile.h"

namespace kiln::lower {

struct FusionChoices {
  int64_t max_kernel_members = 48;  // most nodes one kernel computes
  int64_t max_math_depth = 1;       // longest chain of math functions (exp, tanh) per kernel
  int64_t max_siblings = 16;        // latest groups a node looks at for a sibling to join
  bool operator==(const FusionChoices &) const = default;
};

struct ScheduleChoices {
  int64_t short_row = 4096;              // longest row whose float sum stays in its dtype
  int64_t max_scratch_bytes = 64 << 10;  // stack for a kernel's rows of scratch, together
  bool streaming = true;                 // may any kernel stream
  int64_t streaming_bytes = 8 << 20;     // smallest output that does
  int64_t line_split = 64;               // pointwise threads start on multiples of this
  int64_t across_rows = 8;               // longest row vectorized across rows
  bool operator==(const ScheduleChoices &) const = default;
};

struct KernelChoices {
  std::optional<ir::GemmTile> gemm_tile;  // unset: lower::gemm_tile(dtype, vector bytes)
  int64_t registers_per_value = 0;        // 64-byte registers per vector value; 0: by body cost
  int64_t epilogue_unroll_cost = 512;     // a GEMM epilogue is unrolled per vector below this
  int64_t min_elements_per_task = 16384;  // fewest elements worth a thread (parallel grain)
  int64_t gemm_parallel_work = 1 << 18;   // fewest multiply-adds a GEMM splits over threads
  // Which loop of a GEMM threads split: rows (threads share each packed block of B) or
  // columns (each thread packs B for its own columns; no barrier until the end).
  bool gemm_split_columns = false;
  bool streaming = true;    // may this kernel's big outputs use non-temporal stores
  bool row_scratch = true;  // may a row kernel stage values in rows of stack scratch
  bool operator==(const KernelChoices &) const = default;
};

struct Choices {
  FusionChoices fusion;
  ScheduleChoices schedule;
  KernelChoices kernel;  // every kernel without its own entry below
  // By kernel number (k0, k1, … in step order; an entry equal to `kernel` is no entry).
  std::map<int64_t, KernelChoices> per_kernel;

  bool operator==(const Choices &) const = default;
  [[nodiscard]] const KernelChoices &for_kernel(int64_t k) const;
  // Every knob, one "key = value" line each, per-kernel entries as "k3.gemm_tile = ...".
  [[nodiscard]] std::string text() const;
  // The knobs that differ from the defaults, "; "-separated, or "defaults".
  [[nodiscard]] std::string summary() const;
  // Reads text() or any subset of its lines (the rest keep their defaults; blank lines and
  // '#' comments are skipped). Throws kiln::Error naming the line for an unknown key or a
  // bad value.
  [[nodiscard]] static Choices parse(std::string_view text);
};

// "6x32x256x256x1024" (mr x nr x kc x mc x nc).
[[nodiscard]] std::string gemm_tile_text(const ir::GemmTile &t);

}  // namespace kiln::lower
