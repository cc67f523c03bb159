// The JSON of user files (engine/io/json_file.h): nesting up to kMaxJsonDepth parses, deeper is
// an error naming the file, also a million levels deep (a recursive walk of it would overflow
// the stack), and in a safetensors header.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/io/json_file.h"
#include "engine/io/safetensors.h"
#include "kernels/common/error.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

std::string nested(int depth) {
  return std::string(size_t(depth), '[') + std::string(size_t(depth), ']');
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("json file: nesting up to the limit parses, deeper is an error naming the file") {
  const fs::path d = test::scratch_dir("json_file", "depth");
  const fs::path ok = d / "ok.json", deep = d / "deep.json", huge = d / "huge.json";
  std::ofstream(ok) << R"({"a": )" << nested(io::kMaxJsonDepth - 1) << "}";
  std::ofstream(deep) << R"({"a": )" << nested(io::kMaxJsonDepth) << "}";
  std::ofstream(huge) << nested(1000000);
  CHECK(io::read_json(ok.string())["a"].is_array());
  const std::string why = ": JSON nested deeper than 64 arrays and objects";
  CHECK(error_of([&] { io::read_json(deep.string()); }) == deep.string() + why);
  CHECK(error_of([&] { io::read_json(huge.string()); }) == huge.string() + why);
  CHECK(error_of([&] {
          io::parse_json("{\"a\": [1,}", "x.json");
        }).rfind("x.json: not valid JSON: ", 0) == 0);
}

TEST_CASE("json file: a safetensors header nested beyond the limit") {
  const fs::path p = test::scratch_dir("json_file", "safetensors") / "deep.safetensors";
  const std::string header = R"({"__metadata__": {"x": )" + nested(100000) + "}}";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char(uint64_t(header.size()) >> (8 * i));
  std::ofstream(p, std::ios::binary) << bytes << header;
  CHECK(error_of([&] { io::load_safetensors(p.string()); }) ==
        p.string() + ": the safetensors header: JSON nested deeper than 64 arrays and objects");
}
