// `fdl bench` option checks that need no GPU: --device cuda refused cleanly where there is none,
// --conv validated before anything is timed.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "engine/device.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

struct Result {
  int status;
  std::string text;
};

Result bench(const std::string& args, const std::string& name) {
  const fs::path log = test::scratch_dir("bench", name) / "log.txt";
  const int status = test::run_fdl("bench " + args, log);
  return {status, test::slurp(log)};
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// A table header means timing had started.
bool timed_nothing(const std::string& text) { return !has(text, "GFLOP/s") && !has(text, "fdl s"); }

}  // namespace

TEST_CASE(
    "fdl bench --device cuda without a GPU, or in a build without CUDA, fails before timing "
    "anything") {
  if (cuda_available()) return;  // with a GPU these commands are legitimate benchmarks
  for (const char* cmd : {"conv3d --device cuda", "conv3d --device cuda --conv tiled,cudnn",
                          "train --device cuda --no-torch --shape 16 16 8"}) {
    CAPTURE(cmd);
    const Result r = bench(cmd, "nogpu");
    CHECK(r.status != 0);
    CHECK_MESSAGE(has(r.text, "fdl: error: --device cuda: "), r.text);
    CHECK_MESSAGE((has(r.text, "no CUDA device") || has(r.text, "built without CUDA")), r.text);
    CHECK_MESSAGE(timed_nothing(r.text), r.text);
  }
}

TEST_CASE("fdl bench: --conv is checked before the device and before any timing") {
  SUBCASE("conv3d: an unknown version is named with the choices") {
    const Result r = bench("conv3d --device cuda --conv tiled,winograd", "conv_unknown");
    CHECK(r.status != 0);
    CHECK_MESSAGE(
        has(r.text, "--conv 'winograd' is not one of direct, tiled, tf32, cudnn, cudnn-tf32, all"),
        r.text);
    CHECK_MESSAGE(timed_nothing(r.text), r.text);
  }
  SUBCASE("train: cuDNN is a conv3d comparison, not a training kernel") {
    const Result r = bench("train --device cuda --no-torch --conv tiled,cudnn", "train_cudnn");
    CHECK(r.status != 0);
    CHECK_MESSAGE(has(r.text, "--conv 'cudnn' is not one of direct, tiled, tf32"), r.text);
    CHECK_MESSAGE(timed_nothing(r.text), r.text);
  }
  SUBCASE("--conv and --fast-nondeterministic without --device cuda") {
    for (const char* cmd :
         {"conv3d --conv tiled --no-torch", "train --fast-nondeterministic --no-torch"}) {
      CAPTURE(cmd);
      const Result r = bench(cmd, "cpu_conv");
      CHECK(r.status != 0);
      CHECK_MESSAGE(has(r.text, "add --device cuda"), r.text);
      CHECK_MESSAGE(timed_nothing(r.text), r.text);
    }
  }
}
