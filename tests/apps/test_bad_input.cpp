// Bad input through `fdl check`, one case each: a truncated .nii.gz, a file that is not
// NIfTI, image and label of different shapes, a label value 7 in a 2-class set, NaN voxels,
// an empty and a missing directory, a dataset.json that names missing files, and absurd
// headers (NIfTI-2 dims of 1e9, NIfTI-1 dims of 32767). Each must exit with status 1 (not a
// crash), name the file and the problem, and leave the dataset directory as it was.
#include <doctest/doctest.h>
#include <nifti1.h>
#include <nifti2.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/io/nifti.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

const fs::path& base() {
  static const fs::path d = test::scratch_dir("bad_input", "");
  return d;
}

// A valid 2-class MSD dataset of two 3-D cases.
fs::path dataset(const std::string& name) {
  const fs::path d = base() / name;
  fs::remove_all(d);
  fs::create_directories(d / "imagesTr");
  fs::create_directories(d / "labelsTr");
  for (int c = 0; c < 2; ++c) {
    const std::string f = detail::concat("case_", c, ".nii.gz");
    write_nifti((d / "imagesTr" / f).string(), test::randn({8, 7, 6}, uint64_t(c), DType::F32), Volume{});
    Tensor lab = Tensor::zeros({8, 7, 6});
    for (int64_t i = 0; i < lab.numel(); i += 5) lab.data<float>()[i] = 1;
    write_nifti((d / "labelsTr" / f).string(), lab, Volume{}, NiftiOutType::UInt8);
  }
  std::ofstream(d / "dataset.json") << R"({"modality": {"0": "MRI"}, "labels": {"0": "background", "1": "nucleus"},
    "training": [{"image": "./imagesTr/case_0.nii.gz", "label": "./labelsTr/case_0.nii.gz"},
                 {"image": "./imagesTr/case_1.nii.gz", "label": "./labelsTr/case_1.nii.gz"}]})";
  return d;
}

std::set<std::string> listing(const fs::path& d) {
  std::set<std::string> s;
  if (fs::exists(d))
    for (const auto& e : fs::recursive_directory_iterator(d)) s.insert(e.path().string());
  return s;
}

// Runs `fdl check DIR`, checks exit status 1 and an unchanged directory; returns the output.
std::string refused(const fs::path& dir) {
  const auto before = listing(dir);
  const fs::path log = base() / (dir.filename().string() + ".log");
  const int rc = test::run_fdl("check '" + dir.string() + "'", log);
  const std::string out = test::slurp(log);
  CHECK_MESSAGE(rc == 1, "exit status ", rc, " (-1: killed by a signal): ", out);
  CHECK(listing(dir) == before);
  return out;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("bad input: truncated .nii.gz, not NIfTI, absurd headers") {
  const fs::path d = dataset("files");
  const fs::path img0 = d / "imagesTr" / "case_0.nii.gz", lab1 = d / "labelsTr" / "case_1.nii.gz";
  SUBCASE("a truncated .nii.gz") {
    fs::resize_file(img0, fs::file_size(img0) / 2);
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "error: case_0: " + img0.string() + ": image data could not be read (truncated or corrupt file)"), out);
    CHECK_MESSAGE(has(out, "1 error"), out);  // case_1 is still checked, and clean
  }
  SUBCASE("a file that is not NIfTI") {
    std::ofstream(lab1, std::ios::binary | std::ios::trunc) << std::string(600, 'x');
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "error: case_1: " + lab1.string() + ": not a readable NIfTI file"), out);
  }
  SUBCASE("a NIfTI-2 header with dims of 1e9") {
    // A real header (the library's struct) claiming 1e9 x 1e9 x 1e9 int16 voxels in the
    // image, and 1e9 x 1 x 1 in the label: the first exceeds what fdl reads, the second what
    // the 560-byte file holds. Neither may allocate the promised gigabytes.
    for (const auto& [path, ny] : {std::pair{d / "imagesTr" / "case_0.nii", int64_t(1000000000)},
                                   std::pair{d / "labelsTr" / "case_0.nii", int64_t(1)}}) {
      nifti_2_header h;
      static_assert(sizeof h == 540);
      std::memset(&h, 0, sizeof h);
      h.sizeof_hdr = 540;
      std::memcpy(h.magic, "n+2\0\r\n\032\n", 8);
      h.datatype = DT_INT16;
      h.bitpix = 16;
      const int64_t dims[8] = {3, 1000000000, ny, ny, 1, 1, 1, 1};
      for (int i = 0; i < 8; ++i) h.dim[i] = dims[i], h.pixdim[i] = 1;
      h.vox_offset = 544;
      h.scl_slope = 1;
      std::ofstream f(path, std::ios::binary);
      f.write(reinterpret_cast<const char*>(&h), sizeof h);
      f.write(std::string(20, '\0').data(), 20);
    }
    std::string json = test::slurp(d / "dataset.json");
    for (const std::string f : {"imagesTr/case_0.nii", "labelsTr/case_0.nii"}) json.replace(json.find(f + ".gz"), f.size() + 3, f);
    std::ofstream(d / "dataset.json", std::ios::trunc) << json;
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, (d / "imagesTr" / "case_0.nii").string() + ": 1000000000000000000+ voxels is more than fdl reads"),
                  out);
    CHECK_MESSAGE(has(out, (d / "labelsTr" / "case_0.nii").string() +
                               ": image data could not be read: the header promises 2000000000 bytes"),
                  out);
  }
  SUBCASE("a NIfTI-1 header with dims of 32767") {
    const fs::path img = d / "imagesTr" / "case_1.nii.gz";
    const fs::path raw = d / "imagesTr" / "case_1.nii";  // an uncompressed copy to patch
    write_nifti(raw.string(), test::randn({8, 7, 6}, 1, DType::F32), Volume{});
    {
      std::fstream f(raw, std::ios::in | std::ios::out | std::ios::binary);
      const int16_t big = 32767;
      for (int i = 1; i <= 3; ++i) f.seekp(40 + 2 * i), f.write(reinterpret_cast<const char*>(&big), 2);
    }
    fs::remove(img);
    std::string json = test::slurp(d / "dataset.json");
    json.replace(json.find("imagesTr/case_1.nii.gz"), 22, "imagesTr/case_1.nii");
    std::ofstream(d / "dataset.json", std::ios::trunc) << json;
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "error: case_1: " + raw.string() + ": "), out);
    CHECK_MESSAGE(has(out, "voxels is more than fdl reads"), out);
  }
}

TEST_CASE("bad input: shapes, label values and NaN voxels") {
  const fs::path d = dataset("values");
  const fs::path img1 = d / "imagesTr" / "case_1.nii.gz", lab0 = d / "labelsTr" / "case_0.nii.gz";
  SUBCASE("an image and label of different shapes") {
    write_nifti(img1.string(), test::randn({8, 7, 5}, 3, DType::F32), Volume{});
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "error: case_1: " + (d / "labelsTr" / "case_1.nii.gz").string() +
                               ": label shape (8, 7, 6) differs from " + img1.string() + " (8, 7, 5)"),
                  out);
  }
  SUBCASE("a label with value 7 in a 2-class set") {
    Tensor lab = Tensor::zeros({8, 7, 6});
    lab.data<float>()[(3 * 7 + 2) * 6 + 4] = 7;
    lab.data<float>()[(4 * 7 + 2) * 6 + 4] = 1;
    write_nifti(lab0.string(), lab, Volume{}, NiftiOutType::UInt8);
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "error: case_0: " + lab0.string() +
                               ": label value 7 (1 voxels, the first at voxel (3, 2, 4)) outside the classes 0..1"),
                  out);
  }
  SUBCASE("NaN voxels") {
    Tensor img = test::randn({8, 7, 6}, 4, DType::F32);
    for (int i : {0, 10, 20}) img.data<float>()[i] = NAN;
    write_nifti(img1.string(), img, Volume{});
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "error: case_1: " + img1.string() + ": 3 voxels are NaN or Inf"), out);
  }
}

TEST_CASE("bad input: empty or missing directory, dataset.json naming missing files") {
  SUBCASE("a missing directory") {
    const fs::path d = base() / "nowhere";
    fs::remove_all(d);
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, d.string() + ": no such dataset directory"), out);
    CHECK_FALSE(fs::exists(d));
  }
  SUBCASE("an empty directory") {
    const fs::path d = base() / "empty";
    fs::remove_all(d);
    fs::create_directories(d);
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, (d / "dataset.json").string() + ": missing"), out);
  }
  SUBCASE("a dataset.json that names missing files") {
    const fs::path d = dataset("missing");
    fs::remove(d / "imagesTr" / "case_0.nii.gz");
    fs::remove(d / "labelsTr" / "case_1.nii.gz");
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "training[0] image " + (d / "imagesTr" / "case_0.nii.gz").string() + " does not exist"), out);
    CHECK_MESSAGE(has(out, "training[1] label " + (d / "labelsTr" / "case_1.nii.gz").string() + " does not exist"), out);
  }
}
