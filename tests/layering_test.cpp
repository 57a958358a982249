// Checks every #include in the library folders against the layering table of STYLE.md §1:
// dependencies point down only, LLVM stays in lowering/cpu_llvm, CUDA in lowering/cuda_nvrtc
// (and runtime/cuda_*.cpp), nlohmann/json in cache/, autotune/ and frontend/state_dict.cpp, xxHash
// in lowering/ and cache/ .cpp files, hiredis and OpenSSL in cache/ .cpp files. Backends see only
// lowering/'s contract (the backend table's interface and the plain data it names); only the table
// itself names the backends; the frontend sees the contract and compile_graph.h's two entry points,
// nothing inside them.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// What a backend may see of lowering/: the table's interface and the plain data it names.
const char *const kBackendContract[] = {"lowering/backend.h",   "lowering/artifact.h",
                                        "lowering/choices.h",   "lowering/fusion.h",
                                        "lowering/kernel_ir.h", "lowering/target.h"};

// The layer a project include path or a source file belongs to.
std::string layer_of(const std::string &path) {
  if (path.rfind("kiln/", 0) == 0 || path.rfind("frontend/", 0) == 0) return "frontend";
  for (const char *contract : kBackendContract)
    if (path == contract) return "lowering/contract";
  if (path == "lowering/backend_table.cpp") return "lowering/backend_table.cpp";
  if (path == "lowering/compile_graph.h") return "lowering/compile_graph.h";
  for (const char *sub : {"lowering/cpu_llvm", "lowering/cuda_nvrtc"})
    if (path.rfind(sub, 0) == 0) return sub;
  for (const char *top : {"ir", "runtime", "guards", "tracer", "cache", "autotune", "lowering"})
    if (path.rfind(std::string(top) + "/", 0) == 0) return top;
  return "";
}

const std::map<std::string, std::set<std::string>> kMayInclude = {
    {"ir", {"ir"}},
    {"runtime", {"ir", "runtime"}},
    {"guards", {"ir", "runtime", "guards"}},
    {"tracer", {"ir", "guards", "runtime", "tracer"}},
    {"cache", {"ir", "cache", "lowering/contract"}},
    {"lowering/contract", {"ir", "runtime", "lowering/contract"}},
    {"lowering", {"ir", "runtime", "lowering", "lowering/contract", "lowering/compile_graph.h"}},
    {"lowering/backend_table.cpp",
     {"ir", "lowering/contract", "lowering/cpu_llvm", "lowering/cuda_nvrtc"}},
    {"lowering/cpu_llvm", {"ir", "runtime", "lowering/contract", "lowering/cpu_llvm"}},
    {"lowering/cuda_nvrtc", {"ir", "runtime", "lowering/contract", "lowering/cuda_nvrtc"}},
    {"lowering/compile_graph.h", {"ir", "runtime", "lowering/contract"}},
    {"autotune",
     {"ir", "runtime", "cache", "lowering", "lowering/contract", "lowering/compile_graph.h",
      "autotune"}},
    {"frontend",
     {"ir", "runtime", "guards", "tracer", "cache", "lowering/compile_graph.h", "lowering/contract",
      "autotune", "frontend"}},
};

// Returns "" when `file` (a path relative to the source root) may contain `line`.
std::string layering_violation(const std::string &file, const std::string &line) {
  static const std::regex include(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  std::smatch m;
  if (!std::regex_search(line, m, include)) return "";
  const std::string target = m[1];
  const std::string from = layer_of(file);
  const bool is_cpu_llvm = from == "lowering/cpu_llvm";
  const bool is_cuda =
      from == "lowering/cuda_nvrtc" ||
      (from == "runtime" && fs::path(file).filename().string().rfind("cuda_", 0) == 0);
  if ((target.rfind("llvm/", 0) == 0 || target.rfind("llvm-c/", 0) == 0) && !is_cpu_llvm)
    return file + ": LLVM header <" + target + "> outside lowering/cpu_llvm";
  if ((target.rfind("cuda", 0) == 0 || target.rfind("nvrtc", 0) == 0 ||
       target.rfind("cublas", 0) == 0) &&
      !is_cuda)
    return file + ": CUDA header <" + target +
           "> outside lowering/cuda_nvrtc and runtime/cuda_*.cpp";
  // frontend/state_dict.cpp reads and writes the JSON header of safetensors files.
  if (target.rfind("nlohmann/", 0) == 0 && from != "cache" && from != "autotune" &&
      file != "frontend/state_dict.cpp")
    return file + ": nlohmann/json outside cache/, autotune/ and frontend/state_dict.cpp";
  if (target == "xxhash.h" && ((from != "lowering" && from != "cache") || !file.ends_with(".cpp")))
    return file + ": <xxhash.h> outside lowering/ and cache/ .cpp files";
  if ((target.rfind("hiredis/", 0) == 0 || target.rfind("openssl/", 0) == 0) &&
      (from != "cache" || !file.ends_with(".cpp")))
    return file + ": <" + target + "> (the remote tier's client) outside cache/ .cpp files";
  const std::string to = layer_of(target);
  if (to.empty() || from.empty()) return "";  // standard or same-folder include
  if (!kMayInclude.at(from).count(to))
    return file + ": layer '" + from + "' may not include '" + target + "' (layer '" + to + "')";
  return "";
}

}  // namespace

TEST_SUITE("layering") {
  TEST_CASE("the checker flags upward and third-party violations") {
    CHECK(layering_violation("ir/infer.cpp", "#include \"runtime/view.h\"") ==
          "ir/infer.cpp: layer 'ir' may not include 'runtime/view.h' (layer 'runtime')");
    CHECK(
        layering_violation("runtime/kernels.cpp", "#include \"kiln/tensor.h\"") ==
        "runtime/kernels.cpp: layer 'runtime' may not include 'kiln/tensor.h' (layer 'frontend')");
    CHECK(layering_violation("ir/x.cpp", "#include <llvm/IR/Module.h>") ==
          "ir/x.cpp: LLVM header <llvm/IR/Module.h> outside lowering/cpu_llvm");
    CHECK(layering_violation("lowering/cpu_llvm/jit.cpp", "#include <llvm/IR/Module.h>").empty());
    CHECK(layering_violation("lowering/cpu_llvm/jit.cpp", "#include \"lowering/cuda_nvrtc/x.h\"") ==
          "lowering/cpu_llvm/jit.cpp: layer 'lowering/cpu_llvm' may not include "
          "'lowering/cuda_nvrtc/x.h' (layer 'lowering/cuda_nvrtc')");
    CHECK(layering_violation("runtime/cuda_driver.cpp", "#include <cuda.h>").empty());
    CHECK(layering_violation("frontend/dispatch.cpp", "#include \"runtime/kernels.h\"").empty());
    CHECK(layering_violation("frontend/compile.cpp", "#include \"lowering/compile_graph.h\"")
              .empty());
    CHECK(layering_violation("frontend/compile.cpp",
                             "#include \"lowering/cpu_llvm/cpu_backend.h\"") ==
          "frontend/compile.cpp: layer 'frontend' may not include "
          "'lowering/cpu_llvm/cpu_backend.h' (layer 'lowering/cpu_llvm')");
    CHECK(layering_violation("lowering/cpu_llvm/jit.h", "#include \"lowering/target.h\"").empty());
    CHECK(layering_violation("frontend/compile.cpp", "#include \"lowering/schedule.h\"") ==
          "frontend/compile.cpp: layer 'frontend' may not include 'lowering/schedule.h' (layer "
          "'lowering')");
    CHECK(layering_violation("lowering/cpu_llvm/x.cpp", "#include \"lowering/schedule.h\"") ==
          "lowering/cpu_llvm/x.cpp: layer 'lowering/cpu_llvm' may not include "
          "'lowering/schedule.h' (layer 'lowering')");
    CHECK(layering_violation("lowering/schedule.cpp",
                             "#include \"lowering/cpu_llvm/cpu_backend.h\"") ==
          "lowering/schedule.cpp: layer 'lowering' may not include "
          "'lowering/cpu_llvm/cpu_backend.h' (layer 'lowering/cpu_llvm')");
    CHECK(layering_violation("lowering/backend_table.cpp",
                             "#include \"lowering/cpu_llvm/cpu_backend.h\"")
              .empty());
    CHECK(layering_violation("lowering/artifact.h", "#include <xxhash.h>") ==
          "lowering/artifact.h: <xxhash.h> outside lowering/ and cache/ .cpp files");
  }

  TEST_CASE("every library source respects the layering table") {
    const fs::path root = KILN_SOURCE_ROOT;
    int files = 0;
    std::vector<std::string> problems;
    for (const char *dir :
         {"ir", "runtime", "guards", "tracer", "cache", "lowering", "autotune", "frontend"}) {
      if (!fs::exists(root / dir)) continue;
      for (const auto &entry : fs::recursive_directory_iterator(root / dir)) {
        const std::string ext = entry.path().extension().string();
        if (ext != ".h" && ext != ".cpp" && ext != ".def") continue;
        ++files;
        const std::string rel = fs::relative(entry.path(), root).generic_string();
        std::ifstream in(entry.path());
        for (std::string line; std::getline(in, line);)
          if (std::string v = layering_violation(rel, line); !v.empty()) problems.push_back(v);
      }
    }
    CHECK(files > 30);
    for (const std::string &p : problems) FAIL_CHECK(p);
  }
}
