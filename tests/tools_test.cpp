// The command-line driver kiln-opt, run as a user would: passes on a file, --run on
// seeded inputs, stdin, and bad IR exiting 1 with a located message.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct Result {
  int status;
  std::string output;  // stdout and stderr together
};

Result run(const std::string &args) {
  const std::string cmd = std::string(KILN_OPT_PATH) + " " + args + " 2>&1";
  FILE *pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

const std::string kDir = std::string(KILN_SOURCE_ROOT) + "/tests/tools/";

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

  TEST_CASE("kiln-opt reads symbolic sizes, keeps them through passes, and binds them with --sizes") {
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
    CHECK(bad.status == 1);
    CHECK(bad.output == "kiln-opt: --sizes: expected s0=N with N >= 2, got 's1=4'\n");
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
    CHECK(kernels.output.find(
              "  product: f32 = matmul %x[4,3], %w[3,2] tiled mr=8 nr=32 kc=256 mc=256 nc=1024\n"
              "  parallel for i0 in 0..4 {\n    vector for i1 in 0..2 {\n      v0: f32 = "
              "product\n") != std::string::npos);
    CHECK(kernels.output.find("      v1: f32 = load %b[i1]\n") != std::string::npos);  // broadcast: stride 0 on i0
    Result check = run(kDir + "linear_relu.kir --passes=small-matmul,simplify,dce --check");
    if (check.output.find("without LLVM") == std::string::npos) {
      CHECK(check.status == 0);
      CHECK(check.output.find("output 0: 8 elements, largest difference ") == 0);
    }
  }

  TEST_CASE("kiln-opt reports bad IR with its location and exits 1") {
    Result r = run(kDir + "bad_op.kir");
    CHECK(r.status == 1);
    CHECK(r.output == kDir + "bad_op.kir:3:16: error: unknown op 'relux'\n");
    Result p = run(kDir + "linear_relu.kir --passes=cse,fuse-everything");
    CHECK(p.status == 1);
    CHECK(p.output.find("unknown pass 'fuse-everything'") == 0);
    Result missing = run(kDir + "no_such_file.kir");
    CHECK(missing.status == 1);
    CHECK(missing.output == "kiln-opt: cannot read '" + kDir + "no_such_file.kir'\n");
  }
}
