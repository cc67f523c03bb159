// NIfTI I/O: round trips keep data, axis order, qform and sform; scaling is applied on
// read; bad files give errors that name the file.
#include <doctest/doctest.h>
#include <nifti2_io.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/io/nifti.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  static const fs::path d = test::scratch_dir("nifti", "files");
  return d / name;
}

// A header with a rotated, anisotropic qform and a different sform.
Volume oblique_header() {
  Volume h;
  const double c = std::cos(0.3), s = std::sin(0.3);
  h.spacing = {0.9, 1.1, 2.5};
  h.qform = {
      {{c * 0.9, -s * 1.1, 0, -40}, {s * 0.9, c * 1.1, 0, -50}, {0, 0, 2.5, 10}, {0, 0, 0, 1}}};
  h.sform = h.qform;
  h.sform[0][3] = -41;
  h.qform_code = 1;
  h.sform_code = 2;
  h.affine = h.sform;
  h.xyz_units = NIFTI_UNITS_MM;
  return h;
}

void check_affine(const Affine& a, const Affine& b, const std::string& what) {
  for (size_t r = 0; r < 4; ++r)
    for (size_t c = 0; c < 4; ++c)
      CHECK_MESSAGE(std::abs(a[r][c] - b[r][c]) < 1e-5, what, " [", r, "][", c, "]: ", a[r][c],
                    " vs ", b[r][c]);
}

std::string error_of(const std::string& path) {
  try {
    read_nifti(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("nifti: round trip of 3-D and 4-D volumes with qform and sform") {
  const Volume h = oblique_header();
  for (bool four : {false, true}) {
    const Tensor data =
        four ? test::randn({2, 5, 4, 3}, 1, DType::F32) : test::randn({5, 4, 3}, 1, DType::F32);
    const std::string path = scratch(four ? "v4.nii" : "v3.nii.gz").string();
    write_nifti(path, data, h);
    const Volume back = read_nifti(path);
    test::check_close(back.data, data, 0, 0, "round trip");
    CHECK(back.qform_code == 1);
    CHECK(back.sform_code == 2);
    check_affine(back.sform, h.sform, "sform");
    check_affine(back.qform, h.qform, "qform");
    check_affine(back.affine, h.sform, "affine (the sform)");
    CHECK(back.spacing[2] == doctest::Approx(2.5));
    CHECK(back.xyz_units == NIFTI_UNITS_MM);
  }
}

TEST_CASE("nifti: voxel order, int16 with scl_slope and inter, qform fallback") {
  const int64_t dims[8] = {3, 4, 3, 2, 1, 1, 1, 1};
  nifti_image* nim = nifti_make_new_nim(dims, DT_INT16, 1);
  REQUIRE(nim);
  int16_t* p = static_cast<int16_t*>(nim->data);
  for (int i = 0; i < 24; ++i) p[i] = int16_t(i);  // file order: x fastest
  nim->scl_slope = 2;
  nim->scl_inter = 1;
  nim->qform_code = 1;
  nim->sform_code = 0;
  nim->qoffset_x = 7;
  nim->qto_xyz = nifti_quatern_to_dmat44(0, 0, 0, 7, 0, 0, 1, 1, 1, 1);
  const std::string path = scratch("i16.nii").string();
  REQUIRE(nifti_set_filenames(nim, path.c_str(), 0, 1) == 0);
  nifti_image_write(nim);
  nifti_image_free(nim);
  const Volume v = read_nifti(path);
  REQUIRE(v.data.shape() == Shape{4, 3, 2});
  const std::vector<double> d = v.data.to_vector();
  // Tensor (x, y, z) row-major holds file voxel x + 4 (y + 3 z).
  for (int x = 0; x < 4; ++x)
    for (int y = 0; y < 3; ++y)
      for (int z = 0; z < 2; ++z)
        CHECK(d[size_t((x * 3 + y) * 2 + z)] == 2.0 * (x + 4 * (y + 3 * z)) + 1);
  CHECK(v.affine[0][3] == doctest::Approx(7));  // the qform, since there is no sform
}

TEST_CASE("nifti: regridded header and uint8 output") {
  const Volume h = oblique_header();
  const Volume r = regrid_header(h, {4, 2, 1}, {0.5, 0, 0});
  CHECK(r.spacing[0] == doctest::Approx(3.6));
  for (size_t row = 0; row < 3; ++row) {
    CHECK(r.sform[row][0] == doctest::Approx(4 * h.sform[row][0]));
    CHECK(r.qform[row][1] == doctest::Approx(2 * h.qform[row][1]));
    CHECK(r.sform[row][3] == doctest::Approx(h.sform[row][3] + 0.5 * h.sform[row][0]));
  }
  const std::string path = scratch("mask.nii.gz").string();
  write_nifti(path,
              Tensor::from_vector(std::vector<float>{-3, 0.4, 0.6, 254.7, 300, 2, 1, 0}, {2, 2, 2}),
              r, NiftiOutType::UInt8);
  const Volume back = read_nifti(path);
  CHECK(back.data.to_vector() == std::vector<double>{0, 0, 1, 255, 255, 2, 1, 0});
  check_affine(back.qform, r.qform, "regridded qform");
}

TEST_CASE("nifti: bad files give errors naming the file") {
  CHECK(error_of("/nonexistent/x.nii").find("/nonexistent/x.nii: no such file") !=
        std::string::npos);
  const std::string text = scratch("text.nii").string();
  std::ofstream(text)
      << "this is not a NIfTI file at all, just words and more words to pass 348 bytes "
      << std::string(400, 'x');
  CHECK(error_of(text).find(text + ": not a readable NIfTI") != std::string::npos);
  // A valid file cut short.
  const std::string cut = scratch("cut.nii").string();
  write_nifti(cut, Tensor::zeros({16, 16, 16}), oblique_header());
  fs::resize_file(cut, 352 + 1000);
  CHECK(error_of(cut).find(cut + ": image data could not be read") != std::string::npos);
  // A header claiming 32767^3 voxels.
  const std::string huge = scratch("huge.nii").string();
  write_nifti(huge, Tensor::zeros({2, 2, 2}), oblique_header());
  {
    std::fstream f(huge, std::ios::in | std::ios::out | std::ios::binary);
    const int16_t big = 32767;
    for (int i = 1; i <= 3; ++i)
      f.seekp(40 + 2 * i), f.write(reinterpret_cast<const char*>(&big), 2);
  }
  CHECK(error_of(huge).find(huge + ": ") == 0);
  CHECK(error_of(huge).find("voxels") != std::string::npos);
}
