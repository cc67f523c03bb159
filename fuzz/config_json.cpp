// read_config on the input as a run's config.json, and read_splits on it as its splits.json
// (the other JSON of a run directory). A config that reads must write and read back the same.
#include "fuzz/common.h"
#include "train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fdl::fuzz;
  const std::string in = scratch_path("config.json");
  write_bytes(in, as_view(data, size));
  expect_error_or_ok([&] { fdl::train::read_splits(in); });
  fdl::train::RunConfig c;
  try {
    c = fdl::train::read_config(in);
  } catch (const fdl::Error&) {
    return 0;
  }
  const std::string out = scratch_path("config2.json");
  fdl::train::write_config(out, c);
  const fdl::train::RunConfig again = fdl::train::read_config(out);
  require(fdl::train::config_difference(c, again).empty(), "config round trip");
  return 0;
}
