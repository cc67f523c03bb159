// Label values outside the declared classes are errors naming the file, never wrapped into
// range through an integer cast: 257 (1 through uint8), -1, 1.5 (1 through int).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "engine/data/dataset.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

TEST_CASE("label validation: 257, -1 and 1.5 in a 2-class set") {
  const fs::path d = test::scratch_dir("label_validation", "set", {"imagesTr", "labelsTr"});
  write_nifti((d / "imagesTr" / "a.nii.gz").string(), test::randn({4, 4, 4}, 1, DType::F32),
              Volume{});
  write_nifti((d / "labelsTr" / "a.nii.gz").string(), Tensor::zeros({4, 4, 4}), Volume{});
  std::ofstream(d / "dataset.json")
      << R"({"modality": {"0": "MRI"}, "labels": {"0": "bg", "1": "x"},
    "training": [{"image": "./imagesTr/a.nii.gz", "label": "./labelsTr/a.nii.gz"}]})";
  const Dataset ds = open_dataset(d.string());
  for (const float v : {257.f, -1.f, 1.5f}) {
    Tensor lab = Tensor::zeros({4, 4, 4});
    lab.data<float>()[(1 * 4 + 2) * 4 + 3] = v;
    write_nifti(ds.cases[0].label, lab, Volume{});
    try {
      load_case(ds.cases[0], {4, 4, 4}, ds.classes);
      FAIL("label value ", v, " accepted");
    } catch (const Error& e) {
      CHECK(std::string(e.what()) == ds.cases[0].label + ": label value " + detail::concat(v) +
                                         " at voxel (1, 2, 3) is not a class in 0..1");
    }
  }
}
