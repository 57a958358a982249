// The global generator behind manual_seed, rand, randn, randint and dropout.
#include "generator.h"

#include <algorithm>
#include <mutex>

#include "kiln/ops.h"
#include "tracer/trace.h"

namespace kiln {
namespace {

struct Generator {
  std::mutex mutex;
  uint64_t seed = 0;
  uint64_t offset = 0;
};

Generator &generator() {
  static Generator g;
  return g;
}

}  // namespace

void manual_seed(uint64_t seed) {
  // Seeding is a side effect of running the function, not a value in its graph: a trace
  // that meets it stops, and that guard set runs eagerly (seeding at each call).
  if (tracer::active() != nullptr)
    tracer::graph_break("manual_seed",
                        "it sets the random generator when the function runs, which a graph "
                        "cannot hold");
  Generator &g = generator();
  std::lock_guard lock(g.mutex);
  g.seed = seed;
  g.offset = 0;
}

Attrs draw_random(int64_t count) {
  if (tracer::Trace *trace = tracer::active()) {  // relative to the trace's first draw
    Attrs attrs{{"seed", int64_t{0}}, {"offset", trace->random_drawn}};
    trace->random_drawn += std::max<int64_t>(count, 0);
    return attrs;
  }
  Generator &g = generator();
  std::lock_guard lock(g.mutex);
  Attrs attrs{{"seed", static_cast<int64_t>(g.seed)}, {"offset", static_cast<int64_t>(g.offset)}};
  g.offset += static_cast<uint64_t>(std::max<int64_t>(count, 0));
  return attrs;
}

void rewind_random(uint64_t offset, uint64_t drawn) {
  Generator &g = generator();
  std::lock_guard lock(g.mutex);
  if (g.offset == offset + drawn) g.offset = offset;  // only if nobody drew since
}

}  // namespace kiln
