// read_nifti on a .nii or .nii.gz file. The first byte picks how the rest becomes the file:
//   0  the bytes as a plain .nii
//   1  the bytes gzipped into a .nii.gz (mutations of the header and voxels, read through zlib)
//   2  the bytes as a .nii.gz as they are (mutations of the gzip stream itself)
#include <zlib.h>

#include "engine/io/nifti.h"
#include "fuzz/common.h"

namespace {

std::string gzip(std::string_view bytes) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer, as .nii.gz files have. Level 1: speed.
  const int rc = deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  fdl::fuzz::require(rc == Z_OK, "deflateInit2");
  std::string out(deflateBound(&z, uLong(bytes.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = uInt(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  fdl::fuzz::require(deflate(&z, Z_FINISH) == Z_STREAM_END, "deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fdl::fuzz;
  if (size < 1) return 0;
  const std::string_view body = as_view(data + 1, size - 1);
  std::string path;
  switch (data[0] % 3) {
    case 0: write_bytes(path = scratch_path("in.nii"), body); break;
    case 1: write_bytes(path = scratch_path("in.nii.gz"), gzip(body)); break;
    default: write_bytes(path = scratch_path("in.nii.gz"), body); break;
  }
  expect_error_or_ok([&] { fdl::read_nifti(path); });
  return 0;
}
