// Variant spaces. GEMM tiles must fit the register file: mr x (nr / lanes) accumulators,
// nr / lanes vectors of B and one broadcast of A (16 vector registers with AVX2, 32 with
// AVX-512). Default tries the blocking around the heuristic tile one knob at a time; Max
// tries every register tile that fits with several blockings.
#include "autotune/variant_space.h"

#include <algorithm>

#include "lowering/schedule.h"

namespace kiln::autotune {
namespace {

bool fits(const ir::GemmTile &t, int64_t lanes, int64_t registers) {
  if (t.nr % lanes != 0 || t.nc % t.nr != 0 || t.mr < 1 || t.mr > 32) return false;
  const int64_t vectors = t.nr / lanes;
  return vectors <= 8 && t.mr * vectors + vectors + 1 <= registers;
}

void add(std::vector<lower::KernelChoices> &out, const lower::KernelChoices &c) {
  if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
}

}  // namespace

std::vector<lower::KernelChoices> variant_space(const lower::Kernel &k, const lower::Target &target,
                                                const lower::KernelChoices &base, Mode mode,
                                                int threads) {
  std::vector<lower::KernelChoices> out = {base};
  if (mode == Mode::Off) return out;
  if (k.gemm) {
    const ir::GemmTile t0 =
        base.gemm_tile.value_or(lower::gemm_tile(k.gemm->dtype, target.vector_bytes));
    const int64_t lanes = std::max<int64_t>(1, target.vector_bytes / dtype_size(k.gemm->dtype));
    const int64_t registers = target.vector_bytes >= 64 ? 32 : 16;
    auto with = [&](ir::GemmTile t) {
      t.nc = std::max(t.nr, t.nc / t.nr * t.nr);
      if (!fits(t, lanes, registers)) return;
      lower::KernelChoices c = base;
      c.gemm_tile = t;
      add(out, c);
    };
    if (threads > 1) {  // the other loop split across threads, on the heuristic tile
      lower::KernelChoices c = base;
      c.gemm_split_columns = !base.gemm_split_columns;
      add(out, c);
    }
    if (mode == Mode::Default) {
      for (int64_t kc : {128, 512}) with({t0.mr, t0.nr, kc, t0.mc, t0.nc});
      for (int64_t mc : {96, 512}) with({t0.mr, t0.nr, t0.kc, mc, t0.nc});
      with({t0.mr, t0.nr, t0.kc, t0.mc, 4 * t0.nc});
      with({t0.mr == 6 ? 4 : 6, t0.nr, t0.kc, t0.mc, t0.nc});
      return out;
    }
    for (int64_t mr : {4, 6, 8, 12})
      for (int64_t nr : {lanes, 2 * lanes, 3 * lanes, 4 * lanes})
        for (int64_t kc : {128, 256, 512})
          for (int64_t mc : {96, 192, 384})
            for (int64_t nc : {1024, 4096}) with({mr, nr, kc, mc, nc});
    return out;
  }
  // Pointwise and row kernels, at Max only: on Zen 3 (2026-12-07) a default search of their
  // registers, streaming and scratch found nothing beyond noise on W1-W3, W6 and W8 and
  // cost up to a second of first compile per kernel (a run of W1's kernel takes 67 ms).
  // Max tries registers per value (how far each loop is unrolled), the parallel grain, and
  // streaming stores and rows of scratch off where the heuristic turned them on.
  if (mode != Mode::Max) return out;
  const bool streams = std::any_of(k.args.begin(), k.args.end(),
                                   [](const lower::KernelArg &a) { return a.streaming; });
  const bool scratch = std::any_of(k.args.begin(), k.args.end(),
                                   [](const lower::KernelArg &a) { return a.scratch; });
  const std::vector<bool> stream_options =
      streams ? std::vector<bool>{true, false} : std::vector<bool>{base.streaming};
  const std::vector<bool> scratch_options =
      scratch ? std::vector<bool>{true, false} : std::vector<bool>{base.row_scratch};
  for (int64_t registers : {1, 2, 4})
    for (int64_t grain : {4096, 16384, 65536})
      for (bool streaming : stream_options)
        for (bool row_scratch : scratch_options) {
          lower::KernelChoices c = base;
          c.registers_per_value = registers;
          c.min_elements_per_task = grain;
          c.streaming = streaming;
          c.row_scratch = row_scratch;
          add(out, c);
        }
  return out;
}

}  // namespace kiln::autotune
