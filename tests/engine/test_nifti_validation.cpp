// read_nifti refuses what it cannot trust, naming the file: a claim beyond the memory ceiling
// (before reading), a claim beyond the data present (without allocating the claim), a gzip
// stream that goes on past the claim (a bomb) or ends badly (truncated, bad CRC), trailing
// bytes, NaN, zero or negative pixdim, a NaN or singular sform or qform, NaN or Inf voxels.
// The bad files are made here from a valid one, its header patched byte by byte.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/io/nifti.h"
#include "engine/memory_limit.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

// NIfTI-1 header offsets (nifti1.h).
constexpr size_t kDim = 40, kDatatype = 70, kBitpix = 72, kPixdim = 76, kQformCode = 252,
                 kQoffsetX = 268, kSrowX = 280, kData = 352;

fs::path scratch(const std::string& name) {
  static const fs::path base = test::scratch_dir("nifti_validation", "");
  fs::create_directories(base / name);
  return base / name;
}

// The uncompressed bytes of a valid float32 8x7x6 volume (random voxels) with `header`.
std::string valid_bytes(const Volume& header = {}) {
  const fs::path p = scratch("valid") / "v.nii";
  write_nifti(p.string(), test::randn({8, 7, 6}, 1, DType::F32), header);
  return test::slurp(p);
}

template <class T>
void patch(std::string& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}

std::string gzip(const std::string& s) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, uLong(s.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = uInt(s.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

fs::path put(const std::string& name, const std::string& bytes) {
  const fs::path p = scratch("bad") / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

std::string error_of(const fs::path& p) {
  try {
    read_nifti(p.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The process's peak resident memory so far.
int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return int64_t(u.ru_maxrss) * 1024;
}

// Sets the memory ceiling while it lives, then restores the default.
struct Ceiling {
  explicit Ceiling(uint64_t bytes) { set_memory_ceiling(bytes); }
  ~Ceiling() { set_memory_ceiling(0); }
};

}  // namespace

TEST_CASE("nifti validation: a 2 MiB .nii.gz claiming 2 GiB") {
  // int16 1024^3 voxels claimed; 2 MiB of incompressible data present (so the old bound,
  // 1032 x the compressed size, let the claim through).
  std::string b = valid_bytes().substr(0, kData);
  const int16_t dims[4] = {3, 1024, 1024, 1024};
  for (int i = 0; i < 4; ++i) patch(b, kDim + 2 * size_t(i), dims[i]);
  patch(b, kDatatype, int16_t(4));  // DT_INT16
  patch(b, kBitpix, int16_t(16));
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < (2 << 20); ++i) x ^= x << 13, x ^= x >> 7, x ^= x << 17, b += char(x);
  const fs::path p = put("claims_2g.nii.gz", gzip(b));
  CHECK(fs::file_size(p) < (3 << 20));

  SUBCASE("beyond the ceiling: refused before reading") {
    const Ceiling c(uint64_t(1) << 30);
    const std::string e = error_of(p);
    CHECK_MESSAGE(
        has(e, p.string() +
                   ": reading its 1073741824 voxels (2 bytes each, as its header claims) needs "
                   "6442450944 bytes (6.0 GiB), more than the memory ceiling of 1.0 GiB"),
        e);
  }
  SUBCASE("within the ceiling: the data present is checked against the claim, unallocated") {
    const Ceiling c(uint64_t(64) << 30);
    const int64_t before = peak_rss_bytes();
    const std::string e = error_of(p);
    CHECK_MESSAGE(
        has(e, p.string() +
                   ": image data could not be read (truncated or corrupt file): it ends after "
                   "2097152 of the 2147483648 voxel bytes its header declares"),
        e);
    CHECK_MESSAGE(peak_rss_bytes() - before < (int64_t(256) << 20), "peak memory grew by ",
                  (peak_rss_bytes() - before) >> 20, " MiB");
  }
}

TEST_CASE("nifti validation: gzip streams are read to their end, no further than the claim") {
  const std::string ok = valid_bytes();
  SUBCASE("a gzip bomb stops at the claimed size") {
    const fs::path p = put("bomb.nii.gz", gzip(ok + std::string(size_t(64) << 20, '\0')));
    CHECK(fs::file_size(p) < (1 << 20));
    const std::string e = error_of(p);
    CHECK_MESSAGE(
        has(e, p.string() +
                   ": holds more data than its header declares (1344 voxel bytes from offset 352)"),
        e);
  }
  SUBCASE("a flipped CRC byte") {
    std::string g = gzip(ok);
    g[g.size() - 8] ^= 0x01;  // the trailer: CRC-32, then the length
    const fs::path p = put("crc.nii.gz", g);
    // zlib meets the CRC while nifti_clib reads the header of so small a file, or later.
    const std::string e = error_of(p);
    CHECK_MESSAGE(has(e, p.string() + ": "), e);
    CHECK_MESSAGE(has(e, ": the gzip stream is corrupt: incorrect data check"), e);
  }
  SUBCASE("a stream cut in its trailer, after all the data") {
    const std::string g = gzip(ok);
    const fs::path p = put("trailer.nii.gz", g.substr(0, g.size() - 4));
    const std::string e = error_of(p);
    CHECK_MESSAGE(
        has(e, p.string() +
                   ": image data could not be read (truncated or corrupt file): the gzip stream "
                   "does not end properly"),
        e);
  }
  SUBCASE("a stream cut in the data") {
    const std::string g = gzip(ok);
    const fs::path p = put("cut.nii.gz", g.substr(0, g.size() * 3 / 4));
    const std::string e = error_of(p);
    CHECK_MESSAGE(
        has(e, p.string() +
                   ": image data could not be read (truncated or corrupt file): it ends after "),
        e);
  }
  SUBCASE("an uncompressed file with bytes after the data") {
    const fs::path p = put("trailing.nii", ok + "junk");
    CHECK_MESSAGE(has(error_of(p), p.string() + ": holds more data than its header declares"),
                  error_of(p));
  }
  SUBCASE("the valid file reads, compressed or not") {
    CHECK(error_of(put("fine.nii.gz", gzip(ok))) == "no error");
    CHECK(error_of(put("fine.nii", ok)) == "no error");
  }
}

TEST_CASE("nifti validation: pixdim, qform and sform must mean something") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  SUBCASE("NaN, zero and negative voxel sizes") {
    for (const auto& [axis, value, shown] :
         {std::tuple{1, nan, "nan"}, std::tuple{2, 0.f, "0"}, std::tuple{3, -1.f, "-1"}}) {
      std::string b = valid_bytes();
      patch(b, kPixdim + 4 * size_t(axis), value);
      const fs::path p = put("pixdim" + std::to_string(axis) + ".nii", b);
      const std::string e = error_of(p);
      CHECK_MESSAGE(has(e, detail::concat(p.string(), ": pixdim[", axis, "] (the voxel size along ",
                                          "ijk"[axis - 1], ") is ", shown,
                                          "; voxel sizes must be positive numbers")),
                    e);
    }
  }
  Volume h;
  h.sform = {{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}};
  h.qform = h.sform;
  SUBCASE("a NaN or singular sform") {
    h.sform_code = 2;
    for (const auto& [at, what] :
         {std::pair{kSrowX + 12, "nan"}, std::pair{kSrowX + 2 * 16 + 8, "singular"}}) {
      std::string b = valid_bytes(h);
      patch(b, at, std::string(what) == "nan" ? nan : 0.f);  // srow_x[3] NaN, or srow_z[2] = 0
      const fs::path p = put(std::string("sform_") + what + ".nii", b);
      CHECK_MESSAGE(
          has(error_of(p),
              p.string() + ": the sform (sform_code 2) is not a finite, invertible transform"),
          error_of(p));
    }
  }
  SUBCASE("a NaN qform offset") {
    h.qform_code = 1;
    std::string b = valid_bytes(h);
    REQUIRE(int16_t(b[kQformCode]) == 1);
    patch(b, kQoffsetX, nan);
    const fs::path p = put("qform_nan.nii", b);
    CHECK_MESSAGE(
        has(error_of(p),
            p.string() + ": the qform (qform_code 1) is not a finite, invertible transform"),
        error_of(p));
  }
  SUBCASE("an unused NaN sform (code 0) is no error") {
    std::string b = valid_bytes(h);
    patch(b, kSrowX, nan);
    CHECK(error_of(put("sform_unused.nii", b)) == "no error");
  }
}

TEST_CASE("nifti validation: NaN or Inf voxels, also from scaling") {
  SUBCASE("NaN and Inf stored") {
    std::string b = valid_bytes();
    patch(b, kData + 4 * 5, std::numeric_limits<float>::quiet_NaN());
    patch(b, kData + 4 * 9, -std::numeric_limits<float>::infinity());
    const fs::path p = put("nan.nii.gz", gzip(b));
    CHECK(error_of(p) == p.string() + ": 2 voxels are NaN or Inf");
  }
  SUBCASE("finite floats that scl_slope takes past float32") {
    std::string b = valid_bytes();
    patch(b, kData, 10.f);
    patch(b, 112, 1e38f);  // scl_slope: 10 x 1e38 is beyond float32
    const fs::path p = put("slope.nii", b);
    CHECK_MESSAGE(has(error_of(p), p.string() + ": "), error_of(p));
    CHECK_MESSAGE(has(error_of(p), " voxels are NaN or Inf"), error_of(p));
  }
}
