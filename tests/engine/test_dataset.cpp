// Resizing against torch's F.interpolate, nearest-neighbour semantics on label maps, MSD
// dataset directories (3-D and 4-D channels-last images), min-max normalisation, and the
// errors for missing files, bad labels, NaN voxels and mismatched shapes; the nnU-Net v2 and
// plain layouts and read_case_image for each.
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

fs::path scratch(const std::string& name) { return test::scratch_dir("dataset", name); }

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
    training += std::string(c ? "," : "") + R"({"image": "./imagesTr/)" + f +
                R"(", "label": "./labelsTr/)" + f + "\"}";
  }
  const std::string modality = channels > 1 ? R"({"0": "T1", "1": "T2"})" : R"({"0": "MRI"})";
  write_text(root / "dataset.json",
             R"({"name": "t", "modality": )" + modality +
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

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

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
    const Tensor x0 = Tensor::from_vector(
        std::vector<float>(x.data<float>(), x.data<float>() + x.numel() / x.size(0)),
        {x.size(1), x.size(2), x.size(3)});
    const Tensor t0 = resize_trilinear(x0, size);
    CHECK(t0.shape() == Shape{size[0], size[1], size[2]});
    const std::vector<double> all = resize_trilinear(x, size).to_vector();
    CHECK(t0.to_vector() == std::vector<double>(all.begin(), all.begin() + t0.numel()));
  }
}

TEST_CASE("resample: nearest on int32 labels takes the voxel containing each centre") {
  // z: 3 -> 5 reads floor((d + 0.5) * 3 / 5) = 0, 0, 1, 2, 2; x: 2 -> 4 doubles; y: 4 -> 2 reads
  // 1, 3.
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
    // Labels are the nearest resize of the file's labels.
    const Volume lab = read_nifti(d.cases[1].label);
    CHECK(s.label.to_vector() == resize_nearest(lab.data, {8, 6, 4}).to_vector());
    // The image is the trilinear resize of the file's, each channel min-max normalised first.
    Tensor raw = read_nifti(d.cases[1].image).data.clone();
    const int64_t n = 6 * 5 * 4;
    for (int c = 0; c < channels; ++c) {
      float* x = raw.data<float>() + c * n;
      const float lo = *std::min_element(x, x + n), hi = *std::max_element(x, x + n);
      for (int64_t i = 0; i < n; ++i) x[i] = (x[i] - lo) / (hi - lo);
    }
    const std::vector<double> v = s.image.to_vector();
    const std::vector<double> r =
        resize_trilinear(raw.reshape({channels, 6, 5, 4}), {8, 6, 4}).to_vector();
    for (size_t i = 0; i < v.size(); ++i) REQUIRE(v[i] == doctest::Approx(r[i]).epsilon(1e-5));
    CHECK(*std::max_element(v.begin(), v.end()) <= 1.0);
    CHECK(*std::min_element(v.begin(), v.end()) >= 0.0);
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
  CHECK(has(shape, d.cases[2].image + " (6, 5, 3) and " + d.cases[2].label +
                       " (6, 5, 4) differ in shape"));
}

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
  const Case c{"speed", (root / "img.nii.gz").string(), (root / "lab.nii.gz").string(), {}};
  const auto t0 = std::chrono::steady_clock::now();
  const Sample s = load_case(c, {160, 160, 128}, 2);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("load_case 96x96x64 -> 160x160x128: ", sec, " s");
  CHECK(s.image.shape() == Shape{1, 160, 160, 128});
  CHECK(sec < 3.0);  // about 0.3 s on 2 cores; generous for loaded machines
}

namespace {

// An nnU-Net v2 dataset: imagesTr/<case>_000K.nii.gz per channel, labelsTr/<case>.nii.gz.
fs::path make_nnunet(const std::string& name, int n, int channels) {
  const fs::path root = scratch(name);
  fs::create_directories(root / "imagesTr");
  fs::create_directories(root / "labelsTr");
  for (int c = 0; c < n; ++c) {
    const std::string id = "prostate_" + std::to_string(10 + c);
    for (int ch = 0; ch < channels; ++ch)
      write_nifti((root / "imagesTr" / (id + "_000" + std::to_string(ch) + ".nii.gz")).string(),
                  test::randn({6, 5, 4}, uint64_t(10 * c + ch), DType::F32), Volume{});
    Tensor lab = Tensor::zeros({6, 5, 4});
    for (int64_t i = 0; i < lab.numel(); ++i) lab.data<float>()[i] = float((i + c) % 3);
    write_nifti((root / "labelsTr" / (id + ".nii.gz")).string(), lab, Volume{},
                NiftiOutType::UInt8);
  }
  std::string chan;
  for (int ch = 0; ch < channels; ++ch)
    chan += (ch ? ", " : "") + std::string("\"") + std::to_string(ch) + "\": \"m" +
            std::to_string(ch) + "\"";
  write_text(root / "dataset.json",
             "{\"channel_names\": {" + chan +
                 R"(}, "labels": {"background": 0, "TZ": 2, "PZ": 1}, "numTraining": )" +
                 std::to_string(n) + R"(, "file_ending": ".nii.gz"})");
  return root;
}

}  // namespace

TEST_CASE("dataset: nnU-Net v2 layout with one file per channel") {
  const fs::path root = make_nnunet("nnunet", 3, 2);
  const Dataset d = open_dataset(root.string());
  CHECK(d.layout == "nnunet");
  CHECK(d.channels == 2);
  CHECK(d.classes == 3);
  CHECK(d.class_names == std::vector<std::string>{"background", "PZ", "TZ"});
  REQUIRE(d.cases.size() == 3u);
  const Case& c = d.cases[1];
  CHECK(c.id == "prostate_11");
  REQUIRE(c.channel_files.size() == 2u);
  CHECK(c.image == c.channel_files[0]);
  CHECK(fs::equivalent(c.channel_files[1], root / "imagesTr" / "prostate_11_0001.nii.gz"));
  CHECK(fs::equivalent(c.label, root / "labelsTr" / "prostate_11.nii.gz"));

  // The channels are stacked in order.
  const Volume v = read_case_image(c);
  REQUIRE(v.data.shape() == Shape{2, 6, 5, 4});
  const std::vector<double> all = v.data.to_vector();
  for (int ch = 0; ch < 2; ++ch) {
    const std::vector<double> one = read_nifti(c.channel_files[size_t(ch)]).data.to_vector();
    CHECK(std::vector<double>(all.begin() + ch * 120, all.begin() + (ch + 1) * 120) == one);
  }
  const Sample s = load_case(c, {4, 4, 4}, d.classes);
  CHECK(s.image.shape() == Shape{2, 4, 4, 4});

  // Channels that disagree in shape, a missing channel file, a wrong numTraining, regions.
  write_nifti(c.channel_files[1], test::randn({6, 5, 3}, 1, DType::F32), Volume{});
  CHECK(has(error_of([&] { read_case_image(c); }),
            c.channel_files[1] + " (6, 5, 3) and " + c.channel_files[0]));
  fs::remove(c.channel_files[1]);
  fs::remove(root / "labelsTr" / "prostate_12.nii.gz");
  const std::string missing = error_of([&] { open_dataset(root.string()); });
  CHECK(has(missing, "prostate_11_0001.nii.gz does not exist"));
  CHECK(has(missing, "labelsTr/prostate_12.nii.gz does not exist"));
  const fs::path r2 = make_nnunet("nnunet2", 2, 1);
  std::string json =
      R"({"channel_names": {"0": "CT"}, "labels": {"background": 0, "a": 1}, "numTraining": 5, "file_ending": ".nii.gz"})";
  write_text(r2 / "dataset.json", json);
  CHECK(has(error_of([&] { open_dataset(r2.string()); }),
            "numTraining is 5 but imagesTr holds 2 cases"));
  write_text(
      r2 / "dataset.json",
      R"({"channel_names": {"0": "CT"}, "labels": {"background": 0, "a": [1, 2]}, "file_ending": ".nii.gz"})");
  CHECK(has(error_of([&] { open_dataset(r2.string()); }), "region"));
  write_text(
      r2 / "dataset.json",
      R"({"channel_names": {"0": "CT"}, "labels": {"background": 0, "a": 2}, "file_ending": ".nii.gz"})");
  CHECK(has(error_of([&] { open_dataset(r2.string()); }), "index 1 is missing"));
  write_text(
      r2 / "dataset.json",
      R"({"channel_names": {"0": "CT"}, "labels": {"background": 0, "a": 1}, "file_ending": ".mha"})");
  CHECK(has(error_of([&] { open_dataset(r2.string()); }), "file_ending '.mha'"));
}

TEST_CASE("dataset: nnU-Net v2 cases form a set, and no test case is trained on (rule 6)") {
  const fs::path root = make_nnunet("nnunet_set", 3, 1);
  const fs::path img = root / "imagesTr" / "prostate_11_0000.nii.gz";
  const fs::path img0 = root / "imagesTr" / "prostate_10_0000.nii.gz";
  SUBCASE("a channel file that is another case's, by a hard link") {
    fs::remove(img);
    fs::create_hard_link(img0, img);
    CHECK(error_of([&] { open_dataset(root.string()); }) ==
          "case prostate_11 channel 0: " + img.string() + " is the same file as " + img0.string() +
              " (one file may serve one case once: the same data twice could be trained on and "
              "tested on)");
  }
  SUBCASE("a training case in imagesTs") {
    fs::create_directories(root / "imagesTs");
    fs::copy_file(img, root / "imagesTs" / img.filename());
    CHECK(error_of([&] { open_dataset(root.string()); }) ==
          "test file " + (root / "imagesTs" / img.filename()).string() +
              " is training case 'prostate_11' (" + img.string() +
              ") too: a test case must not be trained on");
  }
  SUBCASE("a dangling symlink is named, not left out") {
    fs::remove(img);
    fs::create_symlink("gone.nii.gz", img);
    CHECK(has(
        error_of([&] { open_dataset(root.string()); }),
        "case prostate_11 channel 0: " + img.string() + " is a dangling symlink (to gone.nii.gz"));
  }
  SUBCASE("a label outside the dataset, accepted when allowed") {
    const fs::path outside = scratch("nnunet_outside") / "prostate_11.nii.gz",
                   label = root / "labelsTr" / "prostate_11.nii.gz";
    fs::copy_file(label, outside);
    fs::remove(label);
    fs::create_symlink(outside, label);
    CHECK(has(error_of([&] { open_dataset(root.string()); }),
              "case prostate_11 label: " + label.string() + " resolves to " + outside.string() +
                  ", outside the dataset directory"));
    CHECK(open_dataset(root.string(), {.allow_outside_paths = true}).cases.size() == 3u);
  }
}

TEST_CASE("dataset: a plain imagesTr and labelsTr directory infers the classes") {
  const fs::path root = scratch("plain");
  fs::create_directories(root / "imagesTr");
  fs::create_directories(root / "labelsTr");
  for (int c = 0; c < 3; ++c) {
    const std::string id = detail::concat("s", c);
    write_nifti((root / "imagesTr" / (id + (c == 1 ? ".nii" : ".nii.gz"))).string(),
                test::randn({2, 5, 4, 3}, uint64_t(c), DType::F32), Volume{});
    Tensor lab = Tensor::zeros({5, 4, 3});
    lab.data<float>()[7] = float(c + 1);  // the largest value, 3, is in the last case
    write_nifti((root / "labelsTr" / (id + ".nii.gz")).string(), lab, Volume{},
                NiftiOutType::UInt8);
  }
  write_text(root / "imagesTr" / "._s0.nii.gz", "macOS debris");  // hidden files are skipped
  const Dataset d = open_dataset(root.string());
  CHECK(d.layout == "plain");
  CHECK(d.classes == 4);
  CHECK(d.channels == 2);
  CHECK(d.class_names == std::vector<std::string>{"background", "class_1", "class_2", "class_3"});
  REQUIRE(d.cases.size() == 3u);
  CHECK(d.cases[1].id == "s1");
  CHECK(d.cases[1].channel_files.empty());
  CHECK(read_case_image(d.cases[1]).data.shape() == Shape{2, 5, 4, 3});
  CHECK(load_case(d.cases[2], {5, 4, 3}, d.classes).label.to_vector()[7] == 3.0);

  fs::remove(root / "labelsTr" / "s2.nii.gz");
  const std::string no_label = (root / "labelsTr" / "s2.nii.gz").string();
  CHECK(has(error_of([&] { open_dataset(root.string()); }),
            "case s2 label: " + no_label + " does not exist"));
  const fs::path bare = scratch("bare");
  fs::create_directories(bare / "imagesTr");
  CHECK(has(error_of([&] { open_dataset(bare.string()); }), "no imagesTr/ and labelsTr/"));
  fs::create_directories(bare / "labelsTr");
  CHECK(has(error_of([&] { open_dataset(bare.string()); }), "holds no .nii or .nii.gz files"));
}

TEST_CASE("dataset: every missing file of an MSD dataset is named in one error") {
  const fs::path root = make_dataset("missing", 4, 1);
  fs::remove(root / "imagesTr" / "c1.nii.gz");
  fs::remove(root / "labelsTr" / "c3.nii.gz");
  const std::string e = error_of([&] { open_dataset(root.string()); });
  CHECK(has(e,
            "training[1] image " + (root / "imagesTr" / "c1.nii.gz").string() + " does not exist"));
  CHECK(has(e,
            "training[3] label " + (root / "labelsTr" / "c3.nii.gz").string() + " does not exist"));
  CHECK(has(e, "1 more problem"));
}

TEST_CASE("dataset: load_case with crop-pad and z-score preprocessing") {
  const fs::path root = make_dataset("croppad", 1, 2);
  const Dataset d = open_dataset(root.string());
  CHECK(d.layout == "msd");
  Preprocess p;
  p.shape = {8, 5, 2};
  p.fit = Fit::CropPad;
  p.norm = Norm::ZScore;
  const Sample s = load_case(d.cases[0], p, d.classes);
  REQUIRE(s.image.shape() == Shape{2, 8, 5, 2});
  const Volume img = read_case_image(d.cases[0]);
  const Volume raw = read_nifti(d.cases[0].label);
  Tensor lab = Tensor::empty({6, 5, 4}, DType::I32);
  for (int64_t i = 0; i < 120; ++i) lab.data<int32_t>()[i] = int32_t(raw.data.data<float>()[i]);
  const Prepared want = prepare(img.data, lab, p);
  CHECK(s.image.to_vector() == want.image.to_vector());
  CHECK(s.label.to_vector() == want.label.to_vector());
}
