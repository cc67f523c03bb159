// Bad input through `fdl check`, one case each: a truncated .nii.gz, a file that is not
// NIfTI, image and label of different shapes, a label value 7 in a 2-class set, NaN voxels,
// an empty and a missing directory, a dataset.json that names missing files, and absurd
// headers (NIfTI-2 dims of 1e9, NIfTI-1 dims of 32767); a dataset that is not a set (a case
// twice, the same file under two names, a test case that is trained on), paths that leave the
// dataset directory, symlink loops, dangling symlinks and unreadable files (rule 6); a header
// nifti_clib refuses with its own message, and JSON nested beyond the limit (rule 7). Each must
// exit with status 1 (not a crash), name the file and the problem, and leave the dataset
// directory as it was.
#include <doctest/doctest.h>
#include <nifti1.h>
#include <nifti2.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
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
    write_nifti((d / "imagesTr" / f).string(), test::randn({8, 7, 6}, uint64_t(c), DType::F32),
                Volume{});
    Tensor lab = Tensor::zeros({8, 7, 6});
    for (int64_t i = 0; i < lab.numel(); i += 5) lab.data<float>()[i] = 1;
    write_nifti((d / "labelsTr" / f).string(), lab, Volume{}, NiftiOutType::UInt8);
  }
  std::ofstream(d / "dataset.json")
      << R"({"modality": {"0": "MRI"}, "labels": {"0": "background", "1": "nucleus"},
    "training": [{"image": "./imagesTr/case_0.nii.gz", "label": "./labelsTr/case_0.nii.gz"},
                 {"image": "./imagesTr/case_1.nii.gz", "label": "./labelsTr/case_1.nii.gz"}]})";
  return d;
}

// Runs `fdl check DIR` (without root's right to read any file when `unprivileged`), checks exit
// status 1 and an unchanged directory; returns the output.
std::string refused(const fs::path& dir, bool unprivileged = false) {
  const auto state = [&] {
    return fs::exists(dir) ? test::snapshot(dir) : std::map<std::string, std::string>{};
  };
  const auto before = state();
  const fs::path log = base() / (dir.filename().string() + ".log");
  const std::string cmd = "check '" + dir.string() + "'";
  const int rc =
      unprivileged ? test::run_fdl_without_read_override(cmd, log) : test::run_fdl(cmd, log);
  const std::string out = test::slurp(log);
  CHECK_MESSAGE(rc == 1, "exit status ", rc, " (-1: killed by a signal): ", out);
  CHECK_MESSAGE(state() == before, dir.string(), " changed");
  return out;
}

// Rewrites the dataset.json of `d` with `edit` applied to it.
template <class F>
void edit_json(const fs::path& d, F&& edit) {
  nlohmann::json j = nlohmann::json::parse(test::slurp(d / "dataset.json"));
  edit(j);
  std::ofstream(d / "dataset.json", std::ios::trunc) << j.dump(1);
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("bad input: truncated .nii.gz, not NIfTI, absurd headers") {
  const fs::path d = dataset("files");
  const fs::path img0 = d / "imagesTr" / "case_0.nii.gz", lab1 = d / "labelsTr" / "case_1.nii.gz";
  SUBCASE("a truncated .nii.gz") {
    fs::resize_file(img0, fs::file_size(img0) / 2);
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "error: case_0: " + img0.string() +
                               ": image data could not be read (truncated or corrupt file)"),
                  out);
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
    for (const std::string f : {"imagesTr/case_0.nii", "labelsTr/case_0.nii"})
      json.replace(json.find(f + ".gz"), f.size() + 3, f);
    std::ofstream(d / "dataset.json", std::ios::trunc) << json;
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, (d / "imagesTr" / "case_0.nii").string() +
                               ": 1000000000000000000+ voxels is more than fdl reads"),
                  out);
    CHECK_MESSAGE(
        has(out, (d / "labelsTr" / "case_0.nii").string() +
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
      for (int i = 1; i <= 3; ++i)
        f.seekp(40 + 2 * i), f.write(reinterpret_cast<const char*>(&big), 2);
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
    CHECK_MESSAGE(
        has(out, "error: case_1: " + (d / "labelsTr" / "case_1.nii.gz").string() +
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
                               ": label value 7 (1 voxels, the first at voxel (3, 2, 4)) outside "
                               "the classes 0..1"),
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
    CHECK_MESSAGE(has(out, "training[0] image " + (d / "imagesTr" / "case_0.nii.gz").string() +
                               " does not exist"),
                  out);
    CHECK_MESSAGE(has(out, "training[1] label " + (d / "labelsTr" / "case_1.nii.gz").string() +
                               " does not exist"),
                  out);
  }
}

TEST_CASE("bad input: a dataset is a set (rule 6)") {
  const fs::path d = dataset("set");
  const fs::path img0 = d / "imagesTr" / "case_0.nii.gz", img1 = d / "imagesTr" / "case_1.nii.gz";
  const std::string json = (d / "dataset.json").string();
  const auto add_case = [&](const std::string& name) {
    edit_json(d, [&](nlohmann::json& j) {
      j["training"].push_back({{"image", "./imagesTr/" + name}, {"label", "./labelsTr/" + name}});
    });
  };
  SUBCASE("a training entry listed twice") {
    edit_json(d, [](nlohmann::json& j) { j["training"].push_back(j["training"][0]); });
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, json + ": training[2] image " + img0.string() + " is the same file as " +
                               img0.string()),
                  out);
    CHECK_MESSAGE(has(out, json + ": case 'case_0' appears twice, as training[0] and training[2]"),
                  out);
  }
  SUBCASE("the same file under two names: a hard link") {
    fs::create_hard_link(img0, d / "imagesTr" / "case_2.nii.gz");
    fs::copy_file(d / "labelsTr" / "case_0.nii.gz", d / "labelsTr" / "case_2.nii.gz");
    add_case("case_2.nii.gz");
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "fdl: error: " + json + ": training[2] image " +
                               (d / "imagesTr" / "case_2.nii.gz").string() +
                               " is the same file as " + img0.string()),
                  out);
  }
  SUBCASE("the same file under two names: a symlink") {
    fs::create_symlink("case_1.nii.gz", d / "imagesTr" / "case_2.nii.gz");
    fs::copy_file(d / "labelsTr" / "case_1.nii.gz", d / "labelsTr" / "case_2.nii.gz");
    add_case("case_2.nii.gz");
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, (d / "imagesTr" / "case_2.nii.gz").string() + " is the same file as " +
                               img1.string()),
                  out);
  }
  SUBCASE("a test list naming a training case") {
    edit_json(d, [](nlohmann::json& j) { j["test"] = {"./imagesTr/case_1.nii.gz"}; });
    const std::string out = refused(d);
    CHECK_MESSAGE(
        has(out,
            json + ": test[0] " + img1.string() +
                " is training case 'case_1' (training[1]) too: a test case must not be trained on"),
        out);
  }
  SUBCASE("a copy of a training case in imagesTs") {
    fs::create_directories(d / "imagesTs");
    fs::copy_file(img0, d / "imagesTs" / "case_0.nii.gz");
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "test file " + (d / "imagesTs" / "case_0.nii.gz").string() +
                               " is training case 'case_0'"),
                  out);
  }
  SUBCASE("x.nii beside x.nii.gz in a plain dataset") {
    fs::remove(d / "dataset.json");
    write_nifti((d / "imagesTr" / "case_1.nii").string(), test::randn({8, 7, 6}, 7, DType::F32),
                Volume{});
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "case 'case_1' appears twice, as " +
                               (d / "imagesTr" / "case_1.nii").string() + " and " + img1.string()),
                  out);
  }
}

TEST_CASE("bad input: paths that leave the dataset directory (rule 6)") {
  const fs::path d = dataset("escape"), elsewhere = dataset("elsewhere");
  const fs::path theirs = elsewhere / "imagesTr" / "case_1.nii.gz",
                 ours = d / "imagesTr" / "case_1.nii.gz";
  const std::string json = (d / "dataset.json").string();
  const auto theirs_before = test::snapshot(elsewhere);
  std::string want;
  SUBCASE("../ in dataset.json") {
    edit_json(d, [](nlohmann::json& j) {
      j["training"][1]["image"] = "../elsewhere/imagesTr/case_1.nii.gz";
    });
    want = json + ": training[1] image " + theirs.string() +
           " lies outside the dataset directory " + d.string();
  }
  SUBCASE("an absolute path in dataset.json") {
    edit_json(d, [&](nlohmann::json& j) { j["training"][1]["image"] = theirs.string(); });
    want = json + ": training[1] image " + theirs.string() +
           " lies outside the dataset directory " + d.string();
  }
  SUBCASE("a symlink that resolves outside") {
    fs::remove(ours);
    fs::create_symlink(theirs, ours);
    want = json + ": training[1] image " + ours.string() + " resolves to " + theirs.string() +
           ", outside the dataset directory " + d.string();
  }
  const std::string out = refused(d);
  CHECK_MESSAGE(
      has(out, "fdl: error: " + want + " (pass --allow-outside-paths to use files outside it)"),
      out);
  // The flag accepts the same dataset.
  const fs::path log = base() / "escape_allowed.log";
  CHECK_MESSAGE(test::run_fdl("check '" + d.string() + "' --allow-outside-paths", log) == 0,
                test::slurp(log));
  CHECK_MESSAGE(has(test::slurp(log), "2 cases checked: 0 errors"), test::slurp(log));
  CHECK(test::snapshot(elsewhere) == theirs_before);
}

TEST_CASE(
    "bad input: symlink loops, dangling symlinks and non-files are named, never dropped (rule 6)") {
  const fs::path d = dataset("links");
  const fs::path img1 = d / "imagesTr" / "case_1.nii.gz", lab1 = d / "labelsTr" / "case_1.nii.gz";
  SUBCASE("a dangling symlink") {
    fs::remove(lab1);
    fs::create_symlink("gone.nii.gz", lab1);
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "training[1] label " + lab1.string() +
                               " is a dangling symlink (to gone.nii.gz, which does not exist)"),
                  out);
  }
  SUBCASE("a symlink loop") {
    fs::remove(img1);
    fs::create_symlink("case_1.nii.gz", img1);
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "fdl: error: " + (d / "dataset.json").string() + ": training[1] image " +
                               img1.string() + " is a symlink loop"),
                  out);
  }
  // A plain dataset lists its directories: such an entry must not just vanish from the cases.
  SUBCASE("a dangling symlink in a plain dataset") {
    fs::remove(d / "dataset.json");
    fs::remove(img1);
    fs::create_symlink("gone.nii.gz", img1);
    const std::string out = refused(d);
    CHECK_MESSAGE(has(out, "case case_1 image: " + img1.string() + " is a dangling symlink"), out);
  }
  SUBCASE("a directory named like a case in a plain dataset") {
    fs::remove(d / "dataset.json");
    fs::remove(img1);
    fs::create_directories(img1);
    const std::string out = refused(d);
    CHECK_MESSAGE(
        has(out, "case case_1 image: " + img1.string() + " is a directory, not a NIfTI file"), out);
  }
}

// Root reads a chmod 000 file: the check runs without that right (tests/support.h).
TEST_CASE("bad input: an unreadable file (rule 6)" *
          doctest::skip(!test::can_drop_read_override())) {
  const fs::path d = dataset("unreadable");
  const fs::path img1 = d / "imagesTr" / "case_1.nii.gz";
  fs::permissions(img1, fs::perms::none);
  SUBCASE("in an MSD dataset") {
    const std::string out = refused(d, true);
    CHECK_MESSAGE(has(out, "fdl: error: " + (d / "dataset.json").string() + ": training[1] image " +
                               img1.string() + " cannot be read: Permission denied (EACCES)"),
                  out);
  }
  SUBCASE("in a plain dataset") {
    fs::remove(d / "dataset.json");
    const std::string out = refused(d, true);
    CHECK_MESSAGE(has(out, "case case_1 image: " + img1.string() +
                               " cannot be read: Permission denied (EACCES)"),
                  out);
  }
  fs::permissions(img1, fs::perms::owner_read | fs::perms::owner_write);
}

TEST_CASE("bad input: nifti_clib's complaint becomes fdl's one-line error (rule 7)") {
  const fs::path d = dataset("chatter");
  const fs::path img1 = d / "imagesTr" / "case_1.nii";
  write_nifti(img1.string(), test::randn({8, 7, 6}, 1, DType::F32), Volume{});
  {
    std::fstream f(img1, std::ios::in | std::ios::out | std::ios::binary);
    const int16_t datatype =
        9999;  // no NIfTI type: nifti_clib prints "** ERROR: ...: bad datatype"
    f.seekp(70), f.write(reinterpret_cast<const char*>(&datatype), 2);
  }
  edit_json(d, [](nlohmann::json& j) { j["training"][1]["image"] = "./imagesTr/case_1.nii"; });
  const std::string out = refused(d);
  CHECK_MESSAGE(has(out, "error: case_1: " + img1.string() +
                             ": not a readable NIfTI file (nifti_clib: bad datatype)"),
                out);
  CHECK_MESSAGE(!has(out, "** "), out);  // nothing of nifti_clib's own on the way
  // A command that reads the one file: its error is the whole output.
  const fs::path log = base() / "chatter_disentangle.log";
  CHECK(test::run_fdl(
            "disentangle '" + img1.string() + "' -o '" + (base() / "chatter_out").string() + "'",
            log) == 1);
  CHECK(test::slurp(log) == "fdl: error: " + img1.string() +
                                ": not a readable NIfTI file (nifti_clib: bad datatype)\n");
  CHECK_FALSE(fs::exists(base() / "chatter_out"));
}

TEST_CASE("bad input: JSON nested beyond the limit (rule 7)") {
  const fs::path d = dataset("deep");
  std::string json = test::slurp(d / "dataset.json");
  // A label name 100000 arrays deep: walking it (to print it) took more stack than there is.
  json.replace(json.find("\"nucleus\""), 9, std::string(100000, '[') + std::string(100000, ']'));
  std::ofstream(d / "dataset.json", std::ios::trunc) << json;
  const std::string out = refused(d);
  CHECK_MESSAGE(has(out, "fdl: error: " + (d / "dataset.json").string() +
                             ": JSON nested deeper than 64 arrays and objects"),
                out);
}
