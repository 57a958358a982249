// The chart is gnuplot's: kiln-bench writes a data file and a short script next to the
// output and runs gnuplot on them, so the chart is made by a real plotting tool.
#include "plot.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>

namespace kiln::perf {

bool plot_speedups(const nlohmann::json &results, const std::string &path) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    fmt::print(
        stderr,
        "kiln-bench: --plot needs gnuplot (apt-get install gnuplot-nox); no chart written\n");
    return false;
  }
  const std::string data = path + ".dat", script = path + ".gp";
  {
    std::ofstream out(data);
    out << "# label speedup_vs_kiln_eager speedup_vs_libtorch\n";
    for (const auto &r : results) {
      const auto &torch = r["speedup_vs_libtorch"];
      out << fmt::format("{}/{}t {} {}\n", r["workload"].get<std::string>(),
                         r["threads"].get<int>(), r["speedup_vs_kiln_eager"].get<double>(),
                         torch.is_null() ? 0.0 : torch.get<double>());
    }
  }
  const bool png = path.size() > 4 && path.substr(path.size() - 4) == ".png";
  {
    std::ofstream gp(script);
    gp << (png ? "set terminal pngcairo size 1000,500\n"
               : "set terminal svg size 1000,500 dynamic\n")
       << fmt::format("set output '{}'\n", path)
       << "set title 'kiln compiled: speedup per workload (higher is better)'\n"
       << "set style data histograms\nset style histogram clustered gap 1\n"
       << "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset grid ytics\n"
       << "set ylabel 'speedup (x)'\nset xtics rotate by -45\nset key top left\n"
       << "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2\n"
       << fmt::format(
              "plot '{}' using 2:xtic(1) title 'vs kiln eager', '' using 3 title 'vs libtorch "
              "eager'\n",
              data);
  }
  if (std::system(fmt::format("gnuplot '{}'", script).c_str()) != 0) {
    fmt::print(stderr, "kiln-bench: gnuplot failed on {}\n", script);
    return false;
  }
  std::remove(data.c_str());
  std::remove(script.c_str());
  return true;
}

}  // namespace kiln::perf
