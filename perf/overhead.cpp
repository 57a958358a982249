// Guard-check and compiled-call overhead. The guard check is timed in batches of 1000
// so the clock's own cost does not dominate a sub-microsecond measurement.
#include "overhead.h"

#include <fmt/format.h>

#include "guards/guard_set.h"
#include "kiln/kiln.h"
#include "timing.h"

namespace kiln::perf {

nlohmann::json run_overhead(double budget_s) {
  nlohmann::json rows = nlohmann::json::array();
  fmt::print("\ncall overhead (tensors of shape [8,8])\n{:>7} {:>16} {:>18} {:>16}\n", "inputs",
             "guard check ns", "compiled call us", "eager call us");
  for (int n : {1, 4, 16}) {
    std::vector<Tensor> xs;
    for (int i = 0; i < n; ++i) xs.push_back(ones({8, 8}));
    std::vector<guards::ArgDesc> descs;
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
      descs.push_back({guards::ArgDesc::Kind::Tensor, xs[i].dtype(), xs[i].device(), xs[i].sizes(),
                       xs[i].strides(), 0, 0.0});
      names.push_back(fmt::format("x{}", i));
    }
    guards::GuardSet set = guards::GuardSet::capture(descs, names);
    constexpr int kBatch = 1000;
    volatile bool sink = false;
    Timing guard = measure(
        [&] {
          for (int i = 0; i < kBatch; ++i) sink = set.check(descs);
        },
        budget_s);
    auto sum_all = [](std::vector<Tensor> ts) {
      Tensor acc = ts[0];
      for (size_t i = 1; i < ts.size(); ++i) acc = acc + ts[i];
      return acc;
    };
    auto compiled = compile(sum_all, CompileOptions{.name = "sum_all"});
    Timing call = measure([&] { (void)compiled(xs); }, budget_s);
    Timing eager = measure([&] { (void)sum_all(xs); }, budget_s);
    const double guard_ns = guard.median_ms * 1e6 / kBatch;
    fmt::print("{:>7} {:>16.1f} {:>18.2f} {:>16.2f}\n", n, guard_ns, call.median_ms * 1e3,
               eager.median_ms * 1e3);
    rows.push_back({{"inputs", n},
                    {"guard_check_ns", guard_ns},
                    {"compiled_call_us", call.median_ms * 1e3},
                    {"eager_call_us", eager.median_ms * 1e3}});
  }
  return rows;
}

}  // namespace kiln::perf
