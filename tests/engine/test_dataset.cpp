// Resizing against torch's F.interpolate, nearest-neighbour semantics on label maps, MSD
// dataset directories (3-D and 4-D channels-last images), min-max normalisation, and the
// errors for missing files, bad labels, NaN voxels and mismatched shapes.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/data/dataset.h"
#include "engine/data/resample.h"
#include "engine/io/nifti.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("fdl_test_dataset_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

// A small MSD dataset: n cases of an (X, Y, Z) image (or (C, X, Y, Z), stored channels last
// as MSD ships it) and a label map with classes 0..2.
fs::path make_dataset(const std::string& name, int n, int channels) {
  const fs::path root = scratch(name);
  fs::create_directories(root / "imagesTr");
  fs::create_directories(root / "labelsTr");
  std::string training;
  for (int c = 0; c < n; ++c) {
    const std::string f = std::string("c").append(std::to_string(c)).append(".nii.gz");
    const Tensor img = channels > 1 ? test::randn({channels, 6, 5, 4}, uint64_t(c), DType::F32)
                                    : test::randn({6, 5, 4}, uint64_t(c), DType::F32);
    Tensor lab = Tensor::zeros({6, 5, 4});
    for (int64_t i = 0; i < lab.numel(); ++i) lab.data<float>()[i] = float((i * 7 + c) % 3);
    write_nifti((root / "imagesTr" / f).string(), img, Volume{});
    write_nifti((root / "labelsTr" / f).string(), lab, Volume{}, NiftiOutType::UInt8);
    training += std::string(c ? "," : "") + R"({"image": "./imagesTr/)" + f + R"(", "label": "./labelsTr/)" + f + "\"}";
  }
  const std::string modality = channels > 1 ? R"({"0": "T1", "1": "T2"})" : R"({"0": "MRI"})";
  write_text(root / "dataset.json", R"({"name": "t", "modality": )" + modality +
                                        R"(, "labels": {"0": "background", "2": "b", "1": "a"}, "numTraining": )" +
                                        std::to_string(n) + R"(, "training": [)" + training + R"(], "test": []})");
  return root;
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

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("resample: trilinear and nearest match torch F.interpolate") {
  const auto fx = test::fixture("resample");
  for (const std::string name : {"up", "down", "mixed"}) {
    const Tensor& x = test::at(fx, "x_" + name);
    const Tensor& tri = test::at(fx, "tri_" + name);
    const Tensor& near = test::at(fx, "near_" + name);
    const std::array<int64_t, 3> size{tri.size(1), tri.size(2), tri.size(3)};
    test::check_close(resize_trilinear(x, size), tri, 1e-5, 1e-6, "trilinear " + name);
    test::check_close(resize_trilinear(x.to(DType::F64), size), tri.to(DType::F64), 1e-5, 1e-6,
                      "trilinear float64 " + name);
    test::check_close(resize_nearest(x, size), near, 0, 0, "nearest " + name);
    // 3-D input: channel 0 alone.
    const Tensor x0 = Tensor::from_vector(std::vector<float>(x.data<float>(), x.data<float>() + x.numel() / x.size(0)),
                                          {x.size(1), x.size(2), x.size(3)});
    const Tensor t0 = resize_trilinear(x0, size);
    CHECK(t0.shape() == Shape{size[0], size[1], size[2]});
    const std::vector<double> all = resize_trilinear(x, size).to_vector();
    CHECK(t0.to_vector() == std::vector<double>(all.begin(), all.begin() + t0.numel()));
  }
}

TEST_CASE("resample: nearest on int32 labels takes the voxel containing each centre") {
  // z: 3 -> 5 reads floor((d + 0.5) * 3 / 5) = 0, 0, 1, 2, 2; x: 2 -> 4 doubles; y: 4 -> 2 reads 1, 3.
  Tensor lab = Tensor::empty({2, 4, 3}, DType::I32);
  for (int64_t i = 0; i < lab.numel(); ++i) lab.data<int32_t>()[i] = int32_t(i);
  const Tensor out = resize_nearest(lab, {4, 2, 5});
  REQUIRE(out.dtype() == DType::I32);
  const int zmap[5] = {0, 0, 1, 2, 2}, ymap[2] = {1, 3};
  for (int x = 0; x < 4; ++x)
    for (int y = 0; y < 2; ++y)
      for (int z = 0; z < 5; ++z)
        CHECK(out.data<int32_t>()[(x * 2 + y) * 5 + z] == (x / 2 * 4 + ymap[y]) * 3 + zmap[z]);
  // The same size is the identity for both.
  const Tensor f = test::randn({3, 4, 5}, 2, DType::F32);
  CHECK(resize_nearest(lab, {2, 4, 3}).to_vector() == lab.to_vector());
  CHECK(resize_trilinear(f, {3, 4, 5}).to_vector() == f.to_vector());
  CHECK(has(error_of([&] { resize_trilinear(lab, {2, 2, 2}); }), "expected a float tensor"));
  CHECK(has(error_of([&] { resize_nearest(f, {0, 2, 2}); }), "resize_nearest: target shape"));
}

TEST_CASE("dataset: open an MSD directory and load cases, 3-D and 4-D channels-last") {
  for (int channels : {1, 2}) {
    const fs::path root = make_dataset("ok" + std::to_string(channels), 3, channels);
    const Dataset d = open_dataset(root.string());
    CHECK(d.channels == channels);
    CHECK(d.classes == 3);
    CHECK(d.class_names == std::vector<std::string>{"background", "a", "b"});
    REQUIRE(d.cases.size() == 3u);
    CHECK(d.cases[1].id == "c1");
    CHECK(fs::path(d.cases[1].image).is_absolute());
    CHECK(fs::equivalent(d.cases[1].label, root / "labelsTr" / "c1.nii.gz"));

    const Sample s = load_case(d.cases[1], {8, 6, 4}, d.classes);
    CHECK(s.id == "c1");
    REQUIRE(s.image.shape() == Shape{channels, 8, 6, 4});
    REQUIRE(s.label.shape() == Shape{8, 6, 4});
    CHECK(s.label.dtype() == DType::I32);
    // Each channel spans [0, 1] exactly.
    const std::vector<double> v = s.image.to_vector();
    for (int c = 0; c < channels; ++c) {
      const auto b = v.begin() + c * 8 * 6 * 4, e = b + 8 * 6 * 4;
      CHECK(*std::min_element(b, e) == 0.0);
      CHECK(*std::max_element(b, e) == 1.0);
    }
    // Labels are the nearest resize of the file's labels.
    const Volume lab = read_nifti(d.cases[1].label);
    CHECK(s.label.to_vector() == resize_nearest(lab.data, {8, 6, 4}).to_vector());
    // The image is the trilinear resize of the file's, up to the affine min-max map.
    const Tensor raw = resize_trilinear(read_nifti(d.cases[1].image).data, {8, 6, 4});
    const std::vector<double> r = raw.to_vector();
    const double lo = *std::min_element(r.begin(), r.begin() + 192), hi = *std::max_element(r.begin(), r.begin() + 192);
    for (size_t i = 0; i < 192; i += 17) CHECK(v[i] == doctest::Approx((r[i] - lo) / (hi - lo)).epsilon(1e-5));
  }
}

TEST_CASE("dataset: a constant image channel normalises to zeros") {
  const fs::path root = make_dataset("const", 1, 1);
  write_nifti((root / "imagesTr" / "c0.nii.gz").string(), Tensor::full({6, 5, 4}, 3.5), Volume{});
  const Sample s = load_case(open_dataset(root.string()).cases[0], {6, 5, 4}, 3);
  for (double x : s.image.to_vector()) REQUIRE(x == 0.0);
}

TEST_CASE("dataset: errors name the file and the problem") {
  const fs::path missing = fs::temp_directory_path() / "fdl_no_such_dataset_dir";
  CHECK(has(error_of([&] { open_dataset(missing.string()); }), "no such dataset directory"));

  const fs::path empty = scratch("empty");
  CHECK(has(error_of([&] { open_dataset(empty.string()); }), "dataset.json: missing"));

  write_text(empty / "dataset.json", "{\"labels\": ");
  CHECK(has(error_of([&] { open_dataset(empty.string()); }), "not valid JSON"));

  write_text(empty / "dataset.json", R"({"labels": {"0": "bg", "1": "x"}, "training": []})");
  CHECK(has(error_of([&] { open_dataset(empty.string()); }), "training list is empty"));

  write_text(empty / "dataset.json", R"({"labels": {"0": "bg", "2": "x"}, "training": []})");
  CHECK(has(error_of([&] { open_dataset(empty.string()); }), "index 1 is missing"));

  const fs::path root = make_dataset("bad", 3, 1);
  fs::remove(root / "labelsTr" / "c2.nii.gz");
  const std::string e = error_of([&] { open_dataset(root.string()); });
  CHECK(has(e, "dataset.json: training[2] label"));
  CHECK(has(e, "labelsTr/c2.nii.gz does not exist"));
  fs::copy_file(root / "labelsTr" / "c1.nii.gz", root / "labelsTr" / "c2.nii.gz");
  const Dataset d = open_dataset(root.string());

  // A label value outside the classes, and one that is not an integer.
  Tensor lab = Tensor::zeros({6, 5, 4});
  lab.data<float>()[(2 * 5 + 3) * 4 + 1] = 7;
  write_nifti(d.cases[0].label, lab, Volume{}, NiftiOutType::UInt8);
  std::string bad = error_of([&] { load_case(d.cases[0], {6, 5, 4}, 3); });
  CHECK(has(bad, d.cases[0].label + ": label value 7 at voxel (2, 3, 1) is not a class in 0..2"));
  lab.data<float>()[(2 * 5 + 3) * 4 + 1] = 0.5f;
  write_nifti(d.cases[0].label, lab, Volume{});
  CHECK(has(error_of([&] { load_case(d.cases[0], {6, 5, 4}, 3); }), "label value 0.5"));

  // Image and label of different shapes.
  write_nifti(d.cases[2].image, test::randn({6, 5, 3}, 1, DType::F32), Volume{});
  const std::string shape = error_of([&] { load_case(d.cases[2], {6, 5, 4}, 3); });
  CHECK(has(shape, d.cases[2].image + " (6, 5, 3) and " + d.cases[2].label + " (6, 5, 4) differ in shape"));
}

// nifti_clib's reader replaces non-finite floats with 0 while it loads them, so read_nifti
// cannot yet hand load_case a NaN to refuse. Expected to fail until the reader keeps them.
TEST_CASE("dataset: NaN and Inf voxels are refused") {
  const fs::path root = make_dataset("nan", 1, 1);
  const Dataset d = open_dataset(root.string());
  Tensor img = test::randn({6, 5, 4}, 1, DType::F32);
  img.data<float>()[5] = NAN;
  img.data<float>()[9] = INFINITY;
  write_nifti(d.cases[0].image, img, Volume{});
  const std::string nan = error_of([&] { load_case(d.cases[0], {6, 5, 4}, 3); });
  CHECK_MESSAGE(has(nan, d.cases[0].image + ": 2 voxels are NaN or Inf"), nan);
}

TEST_CASE("dataset: loading a case onto 160x160x128 is fast") {
  const fs::path root = scratch("speed");
  Volume h;
  write_nifti((root / "img.nii.gz").string(), test::randn({96, 96, 64}, 3, DType::F32), h);
  Tensor lab = Tensor::zeros({96, 96, 64});
  lab.data<float>()[1000] = 1;
  write_nifti((root / "lab.nii.gz").string(), lab, h, NiftiOutType::UInt8);
  const Case c{"speed", (root / "img.nii.gz").string(), (root / "lab.nii.gz").string()};
  const auto t0 = std::chrono::steady_clock::now();
  const Sample s = load_case(c, {160, 160, 128}, 2);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("load_case 96x96x64 -> 160x160x128: ", sec, " s");
  CHECK(s.image.shape() == Shape{1, 160, 160, 128});
  CHECK(sec < 3.0);  // about 0.3 s on 2 cores; generous for loaded machines
}
