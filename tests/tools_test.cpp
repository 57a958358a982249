// The command-line tools run as a user would: kiln-opt's passes on a file, --run on seeded
// inputs, stdin; every bad command line, bad input and bad KILN_NUM_THREADS gives a message
// and its documented exit code (tools/cli.h), never an abort; kiln-bench's command line.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "lowering/cuda_nvrtc/nvrtc_compile.h"

namespace {

struct Result {
  int status;
  std::string output;  // stdout and stderr together
};

// Runs `env tool args` with stderr folded into stdout.
Result run_tool(const std::string &env, const std::string &tool, const std::string &args) {
  Result r{};
  r.output = kiln::test::run_capture(env + " " + tool + " " + args, &r.status);
  return r;
}

Result run(const std::string &args) { return run_tool("", KILN_OPT_PATH, args); }

// kiln-bench sits beside kiln-opt in the build folder: <build>/perf/kiln-bench.
const std::string kBench =
    (std::filesystem::path(KILN_OPT_PATH).parent_path().parent_path() / "perf/kiln-bench").string();

const std::string kDir = std::string(KILN_SOURCE_ROOT) + "/tests/tools/";
const std::string kHint = "  hint: 'kiln-opt --help' lists the options\n";

}  // namespace

TEST_SUITE("tools") {
  TEST_CASE("kiln-opt runs passes and prints the result") {
    Result r = run(kDir + "linear_relu.kir --passes=cse,dce --print");
    CHECK(r.status == 0);
    CHECK(r.output ==
          "graph @linear_relu(%x: f32[4,3], %w: f32[3,2], %b: f32[2]) -> f32[4,2]\n"
          "    where [device=cpu] {\n"
          "  %0: f32[4,2] = matmul %x, %w\n"
          "  %1: f32[4,2] = broadcast[shape=[4,2]] %b\n"
          "  %2: f32[4,2] = add %0, %1\n"
          "  %3: f32[4,2] = relu %2\n"
          "  return %3\n"
          "}\n");
  }

  TEST_CASE(
      "kiln-opt reads symbolic sizes, keeps them through passes, and binds them with --sizes") {
    Result r = run(kDir + "dynamic_batch.kir --passes=simplify,dce");
    CHECK(r.status == 0);
    CHECK(r.output ==
          "graph @scaled(%x: f32[s0,8], %b: f32[8]) -> f32[s0,8]\n"
          "    where [device=cpu] {\n"
          "  %0: f32[s0,8] = broadcast[shape=[s0,8]] %b\n"
          "  %1: f32[s0,8] = add %x, %0\n"
          "  %2: f32[s0,8] = tanh %1\n"
          "  return %2\n"
          "}\n");
    Result k = run(kDir + "dynamic_batch.kir --passes=simplify,dce --kernels");
    CHECK(k.output.find("kernel @scaled.k0(%x: f32[8*s0], %b: f32[8], %2: f32[8*s0] out) {\n"
                        "  parallel for i0 in 0..s0 {\n") != std::string::npos);
    Result run5 = run(kDir + "dynamic_batch.kir --run --sizes=s0=5");
    CHECK(run5.status == 0);
    CHECK(run5.output.find("%x = f32[5,8]") != std::string::npos);
    CHECK(run5.output.find("output 0 = f32[5,8]") != std::string::npos);
    Result check = run(kDir + "dynamic_batch.kir --check --sizes=s0=17");
    CHECK(check.status == 0);
    CHECK(check.output.find("output 0: 136 elements") != std::string::npos);
    Result bad = run(kDir + "dynamic_batch.kir --run --sizes=s1=4");
    CHECK(bad.status == 2);
    CHECK(bad.output == "kiln-opt: --sizes: expected s0=N with N >= 2, got 's1=4'\n" + kHint);
  }

  TEST_CASE("kiln-opt --run evaluates on seeded inputs, the same way every time") {
    Result a = run("--run --seed=7 < " + kDir + "linear_relu.kir");
    Result b = run("--run --seed=7 - < " + kDir + "linear_relu.kir");
    CHECK(a.status == 0);
    CHECK(a.output == b.output);
    CHECK(a.output.find("%x = f32[4,3] [[") == 0);
    CHECK(a.output.find("output 0 = f32[4,2] [[") != std::string::npos);
  }

  TEST_CASE("kiln-opt prints kernel groups and kernel IR, and checks the backend") {
    Result fused = run(kDir + "linear_relu.kir --passes=dce,fuse");
    CHECK(fused.status == 0);
    CHECK(fused.output.find("  %3: f32[4,2] = call[kernel=@linear_relu.k0] %x, %w, %b\n") !=
          std::string::npos);
    CHECK(fused.output.find(
              "kernel @linear_relu.k0(%x: f32[4,3], %w: f32[3,2], %b: f32[2]) -> (%3) {  "
              "# matmul to [4,2] with its epilogue\n") != std::string::npos);
    Result kernels = run(kDir + "linear_relu.kir --kernels");
    CHECK(kernels.status == 0);
    // The register tile (mr, nr) follows the host's vector width; the rest does not.
    CHECK(kernels.output.find("  product: f32 = matmul %x[4,3], %w[3,2] tiled mr=") !=
          std::string::npos);
    CHECK(kernels.output.find(" kc=256 mc=256 nc=1024\n  parallel for i0 in 0..4 {\n"
                              "    vector for i1 in 0..2 {\n      v0: f32 = product\n") !=
          std::string::npos);
    // The broadcast is stride 0 on i0.
    CHECK(kernels.output.find("      v1: f32 = load %b[i1]\n") != std::string::npos);
    Result check = run(kDir + "linear_relu.kir --passes=small-matmul,simplify,dce --check");
    if (check.output.find("without LLVM") == std::string::npos) {
      CHECK(check.status == 0);
      CHECK(check.output.find("output 0: 8 elements, largest difference ") == 0);
    }
  }

  TEST_CASE("kiln-opt --emit=dot draws the graph, each kernel a cluster with --fuse") {
    Result plain = run(kDir + "linear_relu.kir --emit=dot");
    CHECK(plain.status == 0);
    CHECK(plain.output.starts_with("digraph \"linear_relu\" {\n"));
    CHECK(plain.output.find("subgraph cluster_") == std::string::npos);
    CHECK(plain.output.find("[label=\"%5 = relu\\nf32[4,2]\"];") != std::string::npos);
    CHECK(plain.output.find("shape=invhouse") != std::string::npos);  // the inputs
    CHECK(plain.output.find("out0 [label=\"output 0\", shape=house") != std::string::npos);
    const std::string file =
        (std::filesystem::temp_directory_path() / fmt::format("kiln_opt_dot_{}.dot", getpid()))
            .string();
    Result fused = run(kDir + "linear_relu.kir --passes=dce,fuse --emit=dot --output=" + file);
    CHECK_MESSAGE(fused.status == 0, fused.output);
    CHECK(fused.output.empty());
    std::ifstream in(file);
    const std::string dot((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::filesystem::remove(file);
    CHECK(dot.find("  subgraph cluster_k0 {\n    label=\"k0 matmul\";") != std::string::npos);
    CHECK(dot.find("subgraph cluster_k1") == std::string::npos);
    Result bad = run(kDir + "linear_relu.kir --emit=png");
    CHECK(bad.status == 2);
    CHECK(bad.output.find("expected --emit=artifact, dot, cuda or ptx, got 'png'") !=
          std::string::npos);
  }

  TEST_CASE("kiln-opt --emit=cuda prints the kernels as CUDA C, --emit=ptx NVRTC's PTX") {
    const std::string graph = kDir + "softmax_rows.kir --passes=decompose,simplify";
    Result cuda = run(graph + " --emit=cuda");
    CHECK_MESSAGE(cuda.status == 0, cuda.output);
    CHECK(cuda.output.find("extern \"C\" __global__ void kiln_") != std::string::npos);
    CHECK(cuda.output.find("i0 += (long long)gridDim.x * blockDim.x") != std::string::npos);
    Result ptx = run(graph + " --emit=ptx --target=cuda:sm_80");
    if (kiln::lower::cuda::nvrtc_available()) {
      CHECK_MESSAGE(ptx.status == 0, ptx.output);
      CHECK(ptx.output.find(".target sm_80") != std::string::npos);
      CHECK(ptx.output.find(".visible .entry kiln_") != std::string::npos);
    } else {
      CHECK(ptx.status != 0);
      CHECK(ptx.output.find("built without the CUDA toolkit") != std::string::npos);
    }
    Result gemm = run(kDir + "linear_relu.kir --emit=cuda");
    CHECK(gemm.status == 2);
    CHECK(gemm.output.find("is a GEMM (cuBLAS, not yet driven)") != std::string::npos);
  }

  TEST_CASE("kiln-opt reports bad IR with its location and exits 3") {
    Result r = run(kDir + "bad_op.kir");
    CHECK(r.status == 3);
    CHECK(r.output == kDir + "bad_op.kir:3:16: error: unknown op 'relux'\n");
    Result missing = run(kDir + "no_such_file.kir");
    CHECK(missing.status == 3);
    CHECK(missing.output ==
          "kiln-opt: cannot read '" + kDir + "no_such_file.kir': No such file or directory\n");
  }

  TEST_CASE("kiln-opt refuses what is not IR text with exit 3") {
    Result folder = run(kDir);
    CHECK(folder.status == 3);
    CHECK(folder.output == "kiln-opt: cannot read '" + kDir + "': it is a folder\n");
    Result zero = run("/dev/zero");
    CHECK(zero.status == 3);
    CHECK(zero.output == "kiln-opt: '/dev/zero' is not IR text: NUL byte at offset 0\n");
    Result piped = run("--run < /dev/zero");
    CHECK(piped.status == 3);
    CHECK(piped.output == "kiln-opt: '<stdin>' is not IR text: NUL byte at offset 0\n");
  }

  TEST_CASE("kiln-opt reports a bad command line with exit 2") {
    const std::string seed_range = "expected an integer from 0 to 18446744073709551615";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"--seed=abc", "kiln-opt: --seed: " + seed_range + ", got 'abc'"},
        {"--seed=18446744073709551616",
         "kiln-opt: --seed: " + seed_range + ", got '18446744073709551616'"},
        {"--seed=-1", "kiln-opt: --seed: " + seed_range + ", got '-1'"},
        {"--seed=010x", "kiln-opt: --seed: " + seed_range + ", got '010x'"},
        {"--seed", "kiln-opt: --seed: expected a value, as in --seed=N"},
        {"--print=yes", "kiln-opt: --print: expected no value, got 'yes'"},
        {"--frobnicate", "kiln-opt: unknown option '--frobnicate'"},
        {"a.kir b.kir", "kiln-opt: unexpected argument 'a.kir'"},
        {"--passes=cse,fuse-everything",
         "kiln-opt: --passes: unknown pass 'fuse-everything': expected one of verify, dce, cse, "
         "fold-constants, simplify, decompose, small-matmul, sink-reshapes"},
    };
    for (const auto &[args, message] : cases) {
      Result r = run(kDir + "linear_relu.kir " + args);
      CHECK_MESSAGE(r.status == 2, args);
      CHECK(r.output == message + "\n" + kHint);
    }
    // The seed still takes every uint64 and the space form.
    CHECK(run("--seed 18446744073709551615 --run " + kDir + "linear_relu.kir").status == 0);
  }

  TEST_CASE("kiln-opt and kiln-bench print --help with their exit codes, and --version") {
    for (const std::string &tool : {std::string(KILN_OPT_PATH), kBench}) {
      Result help = run_tool("", tool, "--help");
      CHECK(help.status == 0);
      CHECK(help.output.find("usage: kiln-") == 0);
      CHECK(help.output.find("exit status:\n  0  success\n  1  ") != std::string::npos);
      CHECK(help.output.find("\n  2  usage error") != std::string::npos);
      CHECK(help.output.find("\n  4  internal error") != std::string::npos);
      CHECK(run_tool("", tool, "-h").output == help.output);
      Result version = run_tool("", tool, "--version");
      CHECK(version.status == 0);
      CHECK(version.output.find(" 0.") != std::string::npos);
    }
    CHECK(run("--help").output.find("\n  3  bad input: FILE cannot be read") != std::string::npos);
  }

  TEST_CASE("kiln-bench reports a bad command line with exit 2") {
    const std::string hint = "  hint: 'kiln-bench --help' lists the options\n";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"--threads 1x", "kiln-bench: --threads: expected an integer from 1 to 1024, got '1x'"},
        {"--threads=100000",
         "kiln-bench: --threads: expected an integer from 1 to 1024, got '100000'"},
        {"--budget=-1", "kiln-bench: --budget: expected a number above 0, got '-1'"},
        {"--libtorch fast", "kiln-bench: --libtorch: expected stock, tuned or both, got 'fast'"},
        {"--filter W11",
         "kiln-bench: --filter: unknown workload 'W11': expected one of W1, W2, W3, W4, W5, W6, "
         "W8, W9-10, W9-100, W9-1000, W7, W10"},
        {"--frobnicate", "kiln-bench: unknown option '--frobnicate'"},
        {"--peers torch,numba",
         "kiln-bench: --peers: unknown peer 'numba': expected none or a list of torch, "
         "torch_compile, torch_compile_max, jax"},
    };
    for (const auto &[args, message] : cases) {
      Result r = run_tool("", kBench, args);
      CHECK_MESSAGE(r.status == 2, args);
      CHECK(r.output == message + "\n" + hint);
    }
  }

  TEST_CASE("a bad KILN_SPIN_US or KILN_CACHED_MEMORY_MB is a warning; KILN_SPIN_US=0 runs") {
    const std::string args = "--run " + kDir + "linear_relu.kir";
    Result bad = run_tool("KILN_SPIN_US=1ms KILN_NUM_THREADS=2", KILN_OPT_PATH, args);
    CHECK(bad.status == 0);
    CHECK(bad.output.find("[kiln] KILN_SPIN_US: expected microseconds from 0 to 100000, got "
                          "'1ms'; using 200\n") != std::string::npos);
    Result memory = run_tool("KILN_CACHED_MEMORY_MB=x", KILN_OPT_PATH, args);
    CHECK(memory.status == 0);
    CHECK(memory.output.find("[kiln] KILN_CACHED_MEMORY_MB: expected a size in MiB from 0 to "
                             "1099511627776, got 'x'; using 2048\n") != std::string::npos);
    Result none = run_tool("KILN_SPIN_US=0 KILN_NUM_THREADS=2", KILN_OPT_PATH, args);
    CHECK(none.status == 0);
    CHECK(none.output.find("KILN_SPIN_US") == std::string::npos);
  }

  TEST_CASE("a bad KILN_NUM_THREADS is a warning, never an abort") {
    const std::string args = "--run " + kDir + "linear_relu.kir";
    Result many = run_tool("KILN_NUM_THREADS=100000", KILN_OPT_PATH, args);
    CHECK(many.status == 0);
    CHECK(
        many.output.find(
            "[kiln] KILN_NUM_THREADS: expected at most 1024 threads, got '100000'; using 1024\n") !=
        std::string::npos);
    for (const std::string bad : {"1x", "0", "-2", "''"}) {
      Result r = run_tool("KILN_NUM_THREADS=" + bad, KILN_OPT_PATH, args);
      CHECK_MESSAGE(r.status == 0, bad);
      const std::string shown = bad == "''" ? "" : bad;
      CHECK(r.output.find("[kiln] KILN_NUM_THREADS: expected an integer from 1 to 1024, got '" +
                          shown + "'; using all cores\n") != std::string::npos);
    }
    Result two = run_tool("KILN_NUM_THREADS=2", KILN_OPT_PATH, args);
    CHECK(two.output.find("[kiln]") == std::string::npos);
  }
}
