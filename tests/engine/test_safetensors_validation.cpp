// load_safetensors refuses headers that do not match the data, naming the file and tensor:
// overlapping, out-of-range or leftover byte ranges, shapes whose byte count overflows, negative
// dimensions, files beyond the memory ceiling; NaN or Inf weights are refused where weights
// are loaded. The files are written byte by byte here.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/io/safetensors.h"
#include "engine/memory_limit.h"
#include "engine/nn/conv3d.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

// An 8-byte length, the JSON header, then `data_bytes` bytes of zeros.
fs::path write(const std::string& name, const std::string& header, size_t data_bytes) {
  static const fs::path base = test::scratch_dir("safetensors_validation", "files");
  const fs::path p = base / (name + ".safetensors");
  std::string b(8, '\0');
  for (int i = 0; i < 8; ++i) b[size_t(i)] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  b += header + std::string(data_bytes, '\0');
  std::ofstream(p, std::ios::binary) << b;
  return p;
}

std::string error_of(const fs::path& p) {
  try {
    io::load_safetensors(p.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("safetensors validation: byte ranges must tile the data") {
  const auto two = [](const char* a, const char* b) {
    return std::string(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": )") + a +
           R"(}, "b": {"dtype": "F32", "shape": [2], "data_offsets": )" + b + "}}";
  };
  SUBCASE("overlapping ranges") {
    const fs::path p = write("overlap", two("[0, 8]", "[4, 12]"), 12);
    CHECK(error_of(p) == p.string() + ": tensors 'a' and 'b' overlap (bytes 4..8 of the data)");
  }
  SUBCASE("the same range twice") {
    const fs::path p = write("alias", two("[0, 8]", "[0, 8]"), 8);
    CHECK_MESSAGE(has(error_of(p), p.string() + ": tensors 'a' and 'b' overlap"), error_of(p));
  }
  SUBCASE("a gap between tensors") {
    const fs::path p = write("gap", two("[0, 8]", "[12, 20]"), 20);
    CHECK(error_of(p) == p.string() + ": data bytes 8..12 belong to no tensor");
  }
  SUBCASE("trailing bytes") {
    const fs::path p = write("trailing", two("[0, 8]", "[8, 16]"), 20);
    CHECK(error_of(p) == p.string() +
                             ": 4 trailing data bytes after the last tensor (20 bytes of data, the "
                             "tensors use 16)");
  }
  SUBCASE("a range past the end") {
    const fs::path p = write("past", two("[0, 8]", "[8, 16]"), 12);
    CHECK(error_of(p) == p.string() + ": tensor 'b' has data offsets outside the file");
  }
  SUBCASE("a valid file loads") {
    CHECK(error_of(write("fine", two("[8, 16]", "[0, 8]"), 16)) == "no error");
  }
}

TEST_CASE("safetensors validation: shapes are checked without overflow") {
  SUBCASE("a shape whose byte count wraps to zero") {
    // 2^62 x 4 float32 is 2^66 bytes, 0 in 64-bit arithmetic: it must not pass as 0 bytes.
    const fs::path p = write(
        "wrap",
        R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}})", 0);
    CHECK(error_of(p) == p.string() + ": tensor 'w' has 0 bytes for shape [4611686018427387904,4]");
  }
  SUBCASE("a negative dimension") {
    const fs::path p = write(
        "negative", R"({"w": {"dtype": "F32", "shape": [-1, -4], "data_offsets": [0, 16]}})", 16);
    CHECK(error_of(p) == p.string() + ": tensor 'w' has the negative dimension -1");
  }
  SUBCASE("a file beyond the memory ceiling") {
    const fs::path p = write(
        "big", R"({"w": {"dtype": "F32", "shape": [1024], "data_offsets": [0, 4096]}})", 4096);
    set_memory_ceiling(1024);
    const std::string e = error_of(p);
    set_memory_ceiling(0);
    CHECK_MESSAGE(has(e, p.string() + ": reading the file needs "), e);
    CHECK_MESSAGE(has(e, "more than the memory ceiling of 1.0 KiB"), e);
  }
}

TEST_CASE("safetensors validation: NaN or Inf weights are refused where weights load") {
  Generator g(1);
  Conv3d conv(2, 3, 3, 1, 1, true, g);
  const fs::path p = test::scratch_dir("safetensors_validation", "weights") / "w.safetensors";
  save_parameters(conv, p.string());
  REQUIRE_NOTHROW(load_parameters(conv, p.string()));
  io::TensorMap t = io::load_safetensors(p.string()).tensors;
  Tensor w = t.at("weight").clone();
  w.data<float>()[3] = std::numeric_limits<float>::quiet_NaN();
  w.data<float>()[7] = std::numeric_limits<float>::infinity();
  t["weight"] = w;
  io::save_safetensors(p.string(), t);
  try {
    load_parameters(conv, p.string());
    FAIL("NaN weights loaded");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == p.string() + ": tensor 'weight' holds 2 NaN or Inf values");
  }
  // The module keeps its weights.
  const float* kept = conv.named_parameters().front().second.data<float>();
  CHECK(std::isfinite(kept[3]));
}
