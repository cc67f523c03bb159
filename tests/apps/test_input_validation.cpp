// Rules 4, 5 and 7 end to end: a header that claims more than the memory ceiling, NaN voxels,
// NaN weights, a config.json with a wrapped class count, an absurd --shape, every command's
// numeric flags outside their ranges and JSON nested beyond the limit each end `fdl` with exit
// status 1 and a message naming the file (or option) and the problem; no output is written
// and no input changes.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "engine/data/phantoms.h"
#include "engine/io/nifti.h"
#include "engine/io/safetensors.h"
#include "engine/nn/module.h"
#include "models/seg_model.h"
#include "tests/support.h"
#include "train/checkpoint.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

const fs::path& base() {
  static const fs::path d = test::scratch_dir("input_validation", "");
  return d;
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Runs fdl, expects exit status 1, an unchanged `inputs` tree and no `out`; returns the output.
std::string refused(const std::string& args, const fs::path& inputs, const fs::path& out = {}) {
  const auto before = test::snapshot(inputs);
  const fs::path log = base() / "fdl.log";
  const int rc = test::run_fdl(args, log);
  const std::string text = test::slurp(log);
  CHECK_MESSAGE(rc == 1, "exit status ", rc, ": ", text);
  CHECK_MESSAGE(test::snapshot(inputs) == before, "the inputs changed: ", args);
  if (!out.empty()) CHECK_MESSAGE(!fs::exists(out), out.string(), " was written: ", args);
  return text;
}

// A 2-class MSD dataset of one case whose image header claims 1024^3 int16 voxels (2 GiB)
// over 2 MiB of data.
fs::path claiming_dataset() {
  const fs::path d = base() / "claims";
  fs::remove_all(d);
  fs::create_directories(d / "imagesTr");
  fs::create_directories(d / "labelsTr");
  write_nifti((d / "labelsTr" / "c.nii.gz").string(), Tensor::zeros({8, 8, 8}), Volume{},
              NiftiOutType::UInt8);
  write_nifti((d / "imagesTr" / "c.nii").string(), Tensor::zeros({8, 8, 8}), Volume{});
  std::string b = test::slurp(d / "imagesTr" / "c.nii").substr(0, 352);
  fs::remove(d / "imagesTr" / "c.nii");
  const int16_t hdr[] = {3, 1024, 1024, 1024};
  std::memcpy(b.data() + 40, hdr, sizeof hdr);
  const int16_t type[] = {4, 16};  // DT_INT16, 16 bits
  std::memcpy(b.data() + 70, type, sizeof type);
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < (2 << 20); ++i) x ^= x << 13, x ^= x >> 7, x ^= x << 17, b += char(x);
  gzFile f = gzopen((d / "imagesTr" / "c.nii.gz").c_str(), "wb1");
  REQUIRE(f);
  REQUIRE(gzwrite(f, b.data(), unsigned(b.size())) == int(b.size()));
  gzclose(f);
  std::ofstream(d / "dataset.json")
      << R"({"modality": {"0": "MRI"}, "labels": {"0": "bg", "1": "x"},
    "training": [{"image": "./imagesTr/c.nii.gz", "label": "./labelsTr/c.nii.gz"}]})";
  return d;
}

// A run directory holding what `fdl predict` reads: config.json and model.safetensors.
fs::path run_dir(const std::string& name) {
  const fs::path run = base() / name;
  fs::remove_all(run);
  fs::create_directories(run);
  train::RunConfig c;
  c.run.shape = {8, 8, 8};
  c.class_names = {"background", "x"};
  train::write_config((run / "config.json").string(), c);
  Generator g(1);
  save_parameters(*make_model("unet3d", ModelOptions{}, g), (run / "model.safetensors").string());
  return run;
}

fs::path image(const std::string& name, int nan_voxels) {
  const fs::path p = base() / "images" / name;
  fs::create_directories(p.parent_path());
  Tensor t = test::randn({8, 8, 8}, 2, DType::F32);
  for (int i = 0; i < nan_voxels; ++i) t.data<float>()[i * 7] = NAN;
  write_nifti(p.string(), t, Volume{});
  return p;
}

}  // namespace

TEST_CASE("input validation: a header beyond the memory ceiling") {
  const fs::path d = claiming_dataset();
  const std::string img = (d / "imagesTr" / "c.nii.gz").string();
  const std::string want =
      img +
      ": reading its 1073741824 voxels (2 bytes each, as its header claims) needs "
      "6442450944 bytes (6.0 GiB), more than the memory ceiling of 1.0 GiB";
  SUBCASE("--max-memory before the subcommand") {
    const std::string out = refused("--max-memory 1G check " + d.string(), d);
    CHECK_MESSAGE(has(out, want), out);
  }
  SUBCASE("--max-memory after it") {
    const std::string out = refused("check " + d.string() + " --max-memory 1024M", d);
    CHECK_MESSAGE(has(out, want), out);
  }
  SUBCASE("FDL_MAX_MEMORY") {
    setenv("FDL_MAX_MEMORY", "1GiB", 1);
    const std::string out = refused("check " + d.string(), d);
    unsetenv("FDL_MAX_MEMORY");
    CHECK_MESSAGE(has(out, want), out);
  }
  SUBCASE("a size that is not one") {
    const std::string out = refused("--max-memory lots check " + d.string(), d);
    CHECK_MESSAGE(has(out, "fdl: error: --max-memory: 'lots' is not a memory size"), out);
  }
}

TEST_CASE("input validation: NaN voxels stop disentangle") {
  const fs::path img = image("nan.nii.gz", 3), out = base() / "disentangled";
  const std::string text =
      refused("disentangle " + img.string() + " -o " + out.string(), img.parent_path(), out);
  CHECK_MESSAGE(has(text, "fdl: error: " + img.string() + ": 3 voxels are NaN or Inf"), text);
}

TEST_CASE("input validation: NaN weights and a wrapped class count stop predict") {
  const fs::path img = image("fine.nii.gz", 0);
  SUBCASE("NaN weights") {
    const fs::path run = run_dir("nan_weights"), out = base() / "pred_nan";
    const std::string w = (run / "model.safetensors").string();
    io::SafeTensors st = io::load_safetensors(w);
    const std::string name = st.tensors.begin()->first;
    Tensor t = st.tensors.begin()->second.clone();
    t.data<float>()[0] = NAN;
    st.tensors[name] = t;
    io::save_safetensors(w, st.tensors, st.metadata);
    const std::string text =
        refused("predict " + run.string() + " -o " + out.string() + " " + img.string(), run, out);
    CHECK_MESSAGE(
        has(text, "fdl: error: " + w + ": tensor '" + name + "' holds 1 NaN or Inf values"), text);
  }
  SUBCASE("a class count that wraps through an int") {
    const fs::path run = run_dir("wrapped_classes"), out = base() / "pred_wrap";
    const std::string cfg = (run / "config.json").string();
    nlohmann::json j = nlohmann::json::parse(test::slurp(cfg));
    j["classes"] = 4294967298ull;
    std::ofstream(cfg, std::ios::trunc) << j.dump(2);
    const std::string text =
        refused("predict " + run.string() + " -o " + out.string() + " " + img.string(), run, out);
    CHECK_MESSAGE(has(text, "fdl: error: " + cfg +
                                ": 'classes' is 4294967298; it must be an integer in 2..256"),
                  text);
  }
}

TEST_CASE("input validation: an absurd --shape stops train before it reads or writes") {
  const fs::path d = claiming_dataset(), run = base() / "run_shape";
  const std::string text = refused(
      "train " + d.string() + " --model unet3d --shape 65536 65536 65536 -o " + run.string(), d,
      run);
  CHECK_MESSAGE(
      has(text,
          "fdl: error: --shape 65536 65536 65536 with --batch 2: one batch of the training "
          "grid needs 2251799813685248 bytes (2.0 PiB), more than the memory ceiling"),
      text);
}

TEST_CASE(
    "input validation: every command's numeric flags are checked before anything is written") {
  const fs::path img = image("flags.nii.gz", 0), run = run_dir("flags_run"),
                 out = base() / "flags_out";
  const fs::path labels = base() / "flags_labels";
  fs::create_directories(labels);
  write_nifti((labels / "flags.nii.gz").string(), Tensor::zeros({8, 8, 8}), Volume{},
              NiftiOutType::UInt8);
  const fs::path ds = claiming_dataset();
  const std::string o = " -o " + out.string();
  // (arguments, the error after "fdl: error: ")
  const std::vector<std::pair<std::string, std::string>> cases{
      {"phantoms" + o + " --seed -1", "--seed: '-1' is not a non-negative whole number"},
      {"phantoms" + o + " --cases 0", "--cases: 0 is outside [1, 1000]"},
      {"phantoms" + o + " --shape 8 8 2", "--shape: 2 is outside [4, 1024]"},
      {"predict " + run.string() + o + " " + img.string() + " --threads 0",
       "--threads: 0 is outside [1, 1024]"},
      {"evaluate " + labels.string() + " " + labels.string() + " -o " + (out / "m").string() +
           " --classes 300",
       "--classes 300: at most 256 classes"},
      {"disentangle " + img.string() + o + " --beta nan 0.5 0.5",
       "--beta: 'nan' is not a finite number"},
      {"train " + ds.string() + " --model unet3d --shape 8 8 8" + o + " --threads -2",
       "--threads: -2 is outside [1, 1024]"},
      {"train " + ds.string() + " --model unet3d --shape 8 8 8" + o + " --profile-steps 100001",
       "--profile-steps: 100001 is outside [0, 100000]"},
      {"study " + ds.string() + o + " --jobs 0", "--jobs: 0 is outside [1, 256]"},
      {"study " + ds.string() + o + " --train-percent 50,0",
       "--train-percent: 0 is outside (0, 100]"},
      {"bench conv3d --no-torch --repeat 0", "--repeat: 0 is outside [1, 1000]"},
      {"--max-memory 1G bench train --no-torch --model unet3d --repeat 1 --shape 4096 4096 4096",
       "bench train: --shape 4096 4096 4096 with --batch 2: one batch needs 549755813888 bytes "
       "(512.0 GiB), more "
       "than the memory ceiling of 1.0 GiB"},
  };
  for (const auto& [args, error] : cases) {
    CAPTURE(args);
    const std::string text = refused(args, base() / "images", out);
    CHECK_MESSAGE(has(text, "fdl: error: " + error), text);
    CHECK_MESSAGE(text.find('\n') == text.size() - 1, "more than one line: ", text);
  }
}

TEST_CASE("input validation: config.json and splits.json nested beyond the limit") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  SUBCASE("config.json, through predict") {
    const fs::path run = run_dir("deep_config"), out = base() / "pred_deep";
    const std::string cfg = (run / "config.json").string();
    std::string text = test::slurp(cfg);
    text.replace(text.find("\"shape\""), 7, "\"shape\": " + deep + ", \"old_shape\"");
    std::ofstream(cfg, std::ios::trunc) << text;
    const fs::path img = image("deep.nii.gz", 0);
    const std::string got =
        refused("predict " + run.string() + " -o " + out.string() + " " + img.string(), run, out);
    CHECK_MESSAGE(
        has(got, "fdl: error: " + cfg + ": JSON nested deeper than 64 arrays and objects"), got);
  }
  SUBCASE("splits.json, through train --splits") {
    const fs::path d = base() / "deep_dataset", splits = base() / "deep_splits" / "splits.json",
                   run = base() / "run_deep";
    fs::remove_all(d);
    write_phantoms(d.string(), PhantomOptions{.cases = 6, .shape = {8, 8, 8}});
    fs::create_directories(splits.parent_path());
    std::ofstream(splits)
        << R"({"seed": 1, "fold": 1, "folds": 2, "test_fraction": 0.2, "train_percent": 100, "test": )"
        << deep << R"(, "train": [], "val": []})";
    const std::string got =
        refused("train " + d.string() + " --model unet3d --shape 8 8 8 --splits " +
                    splits.string() + " -o " + run.string(),
                splits.parent_path(), run);
    CHECK_MESSAGE(has(got, "fdl: error: " + splits.string() +
                               ": JSON nested deeper than 64 arrays and objects"),
                  got);
  }
}
