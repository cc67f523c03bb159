// read_config and open_dataset read integers without narrowing casts and check sizes against
// the memory ceiling: a wrapped class count, a negative or absurd grid, a label index beyond
// what a uint8 mask holds are errors naming the file, never numbers wrapped into range; JSON
// nested beyond the limit is refused before anything walks it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/data/dataset.h"
#include "engine/io/atomic_file.h"
#include "tests/support.h"
#include "train/checkpoint.h"

using namespace fdl;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A valid config.json with `key` set to `value` (a JSON text).
fs::path config_with(const std::string& name, const char* key, const std::string& value) {
  const fs::path p = test::scratch_dir("config_validation", name) / "config.json";
  train::RunConfig c;
  c.class_names = {"background", "lesion"};
  train::write_config(p.string(), c);
  json j = json::parse(io::read_file(p.string()));
  j[key] = json::parse(value);
  std::ofstream(p, std::ios::trunc) << j.dump();
  return p;
}

std::string config_error(const fs::path& p) {
  try {
    train::read_config(p.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("config validation: integers out of range are errors, not wrapped") {
  const auto p =
      config_with("classes_wrap", "classes", "4294967298");  // 2^32 + 2: 2 through an int cast
  CHECK(config_error(p) ==
        p.string() + ": 'classes' is 4294967298; it must be an integer in 2..256");
  const auto q = config_with("channels_zero", "channels", "0");
  CHECK(config_error(q) == q.string() + ": 'channels' is 0; it must be an integer in 1..4096");
  const auto r = config_with("batch_float", "batch", "1.5");
  CHECK(config_error(r) == r.string() + ": --batch: '1.5' is not a whole number");
  CHECK(config_error(config_with("fine", "classes", "3")) == "no error");
}

TEST_CASE("config validation: JSON nested beyond the limit is refused, naming the file") {
  const auto p = config_with("deep", "shape", std::string(65, '[') + std::string(65, ']'));
  CHECK(config_error(p) == p.string() + ": JSON nested deeper than 64 arrays and objects");
}

TEST_CASE("config validation: the grid is checked before anything is allocated") {
  const auto neg = config_with("shape_negative", "shape", "[-4, 8, 8]");
  CHECK(config_error(neg) == neg.string() + ": --shape -4 8 8: each value must lie in [4, 65536]");
  const auto odd = config_with("shape_odd", "shape", "[6, 8, 8]");
  CHECK(config_error(odd) == odd.string() +
                                 ": --shape 6 8 8: each size must be a multiple of 4 (the network "
                                 "halves the grid twice)");
  const auto big = config_with("shape_big", "shape", "[65536, 65536, 65536]");
  const std::string e = config_error(big);
  CHECK_MESSAGE(
      e.rfind(big.string() + ": a batch of 2 x 1 x [65536,65536,65536] needs 2251799813685248 "
                             "bytes (2.0 PiB), more than the memory ceiling of ",
              0) == 0,
      e);
}

TEST_CASE("dataset validation: nnU-Net label indices beyond a uint8 mask") {
  const fs::path d = test::scratch_dir("config_validation", "nnunet", {"imagesTr", "labelsTr"});
  const auto open_with = [&](const std::string& labels) {
    std::ofstream(d / "dataset.json", std::ios::trunc)
        << R"({"channel_names": {"0": "MRI"}, "file_ending": ".nii.gz", "labels": )" << labels
        << "}";
    try {
      open_dataset(d.string());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string file = (d / "dataset.json").string();
  // 2^32 + 1 was read as 1 through get<int>.
  CHECK(open_with(R"({"background": 0, "lesion": 4294967297})") ==
        file + ": label 'lesion' must map to an integer index in 0..255, got 4294967297");
  CHECK(open_with(R"({"background": 0, "lesion": 257})") ==
        file + ": label 'lesion' must map to an integer index in 0..255, got 257");
  json many;
  for (int k = 0; k < 300; ++k)
    many[std::to_string(k)] = k;  // any names; only their number matters
  std::ofstream(d / "dataset.json", std::ios::trunc)
      << json{{"labels", many}, {"modality", {{"0", "MRI"}}}, {"training", json::array()}}.dump();
  try {
    open_dataset(d.string());
    FAIL("300 classes accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) ==
          file + ": 'labels' names 300 classes; fdl writes masks as uint8 and handles at most 256");
  }
}
