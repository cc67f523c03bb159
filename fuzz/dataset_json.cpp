// open_dataset on a directory whose dataset.json is the input. The directory also holds
// (empty) image and label files of one MSD case "a" and one nnU-Net v2 case "a" with two
// channels, so that valid files of either layout get past the file checks.
#include <filesystem>

#include "engine/data/dataset.h"
#include "fuzz/common.h"

namespace {

std::string make_dataset_dir() {
  namespace fs = std::filesystem;
  const fs::path root = fdl::fuzz::scratch_path("dataset");
  fs::create_directories(root / "imagesTr");
  fs::create_directories(root / "labelsTr");
  for (const char* f : {"imagesTr/a.nii.gz", "imagesTr/a_0000.nii.gz", "imagesTr/a_0001.nii.gz",
                        "labelsTr/a.nii.gz"})
    fdl::fuzz::write_bytes((root / f).string(), "");
  return root.string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fdl::fuzz;
  static const std::string dir = make_dataset_dir();
  write_bytes(dir + "/dataset.json", as_view(data, size));
  expect_error_or_ok([&] { fdl::open_dataset(dir); });
  return 0;
}
