// `fdl bench ops`: the op table's timing cases, timed on the CPU; a bad --op is refused before
// anything is timed.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "tests/support.h"

using namespace fdl;

namespace {
std::string bench_ops(const std::string& args, const std::string& name, int& status) {
  const std::filesystem::path log = test::scratch_dir("bench_ops", name) / "log.txt";
  status = test::run_fdl("bench ops " + args, log);
  return test::slurp(log);
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}
}  // namespace

TEST_CASE("fdl bench ops times the chosen ops' cases, with and without their backward") {
  int status = -1;
  const std::string out =
      bench_ops("--device cpu --repeat 1 --op one_hot --op upsample_nearest2x", "two", status);
  CHECK_MESSAGE(status == 0, out);
  CHECK_MESSAGE(has(out, "cpu fwd ms"), out);
  CHECK_MESSAGE(has(out, "upsample_nearest2x on (2, 16, 80, 80, 64)"), out);
  CHECK_MESSAGE(has(out, "one_hot 2 classes on (2, 160, 160, 128)"), out);
  CHECK_MESSAGE(!has(out, "instance_norm"), out);
}

TEST_CASE("fdl bench ops: an unknown --op is named with the choices, and nothing is timed") {
  int status = -1;
  const std::string out = bench_ops("--device cpu --op winograd", "unknown", status);
  CHECK(status != 0);
  CHECK_MESSAGE(has(out, "fdl: error: bench ops: --op 'winograd' is not one of "), out);
  CHECK_MESSAGE(has(out, "conv3d"), out);
  CHECK_MESSAGE(!has(out, "fwd ms"), out);
}
