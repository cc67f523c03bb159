// Data safety through the fdl binary: a write that fails on a full disk ends the command with
// an error naming the file and the errno, and leaves no partial file.
#include <doctest/doctest.h>

#include <filesystem>

#include "engine/data/phantoms.h"
#include "engine/io/atomic_file.h"
#include "engine/io/nifti.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path workdir(const std::string& name) { return test::scratch_dir("data_safety", name); }

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// 6 phantom cases of 16x16x8 (1 test, 1 validation, 4 training cases).
fs::path phantoms(const fs::path& d) {
  PhantomOptions o;
  o.cases = 6;
  o.shape = {16, 16, 8};
  o.seed = 5;
  write_phantoms(d.string(), o);
  return d;
}

std::string train_args(const fs::path& ds, const fs::path& run, int epochs) {
  return "train " + ds.string() + " --model unet3d --shape 16 16 8 --batch 2 --lr 0.01 --seed 3 --threads 2 --epochs " +
         std::to_string(epochs) + " -o " + run.string();
}

// A dataset and a run trained on it for one epoch.
struct Trained {
  fs::path data, run;
};
Trained trained(const fs::path& d) {
  Trained t{phantoms(d / "data"), d / "run"};
  const fs::path log = d / "train.log";
  REQUIRE_MESSAGE(test::run_fdl(train_args(t.data, t.run, 1), log) == 0, test::slurp(log));
  return t;
}

// The names of fdl's temporary files anywhere under `dir`.
std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (io::is_temp_file_name(e.path().filename().string())) out.push_back(e.path().string());
  return out;
}

}  // namespace

TEST_CASE("data safety: fdl predict --probabilities on a full disk fails naming the file, leaving no partial file") {
  const fs::path d = workdir("predict_full");
  const Trained t = trained(d);
  test::FullDisk disk("data_safety", "predict_full_disk");
  const fs::path out = disk.dir() / "out";
  const std::string predict = "predict " + t.run.string() + " --threads 2 -o " + out.string() + " " +
                              (t.data / "imagesTr" / "case_000.nii.gz").string();
  const fs::path log = d / "predict.log";
  REQUIRE_MESSAGE(test::run_fdl(predict, log) == 0, test::slurp(log));  // the mask (< 1 KiB) fits
  int rc = 0;
  {
    const auto full = disk.limit(8192);  // the probabilities (~20 KiB) do not
    rc = test::run_fdl(predict + " --probabilities", log);
  }
  const std::string text = test::slurp(log);
  CHECK_MESSAGE(rc == 1, text);
  CHECK_MESSAGE(has(text, "fdl: error: " + (out / "case_000_prob.nii.gz").string() + ": write failed: "), text);
  CHECK_MESSAGE(has(text, std::string("(") + disk.errno_name() + ")"), text);
  CHECK_FALSE(fs::exists(out / "case_000_prob.nii.gz"));
  CHECK(temp_files(out).empty());
  CHECK(read_nifti((out / "case_000.nii.gz").string()).data.numel() == 16 * 16 * 8);
}

TEST_CASE("data safety: fdl train on a full disk fails naming the file, and the run directory can start again") {
  const fs::path d = workdir("train_full");
  const fs::path data = phantoms(d / "data");
  test::FullDisk disk("data_safety", "train_full_disk");
  const fs::path run = disk.dir() / "run", log = d / "train.log";
  int rc = 0;
  {
    const auto full = disk.limit(256 * 1024);  // the weights (~860 KiB) do not fit
    rc = test::run_fdl(train_args(data, run, 2), log);
  }
  const std::string text = test::slurp(log);
  CHECK_MESSAGE(rc == 1, text);
  CHECK_MESSAGE(has(text, "fdl: error: " + run.string() + "/"), text);
  CHECK_MESSAGE(has(text, ": write failed: "), text);
  CHECK_MESSAGE(has(text, std::string("(") + disk.errno_name() + ")"), text);
  CHECK(temp_files(run).empty());
  CHECK_FALSE(fs::exists(run / "state.json"));  // nothing was committed
  // With room again the run starts afresh in the same directory.
  REQUIRE_MESSAGE(test::run_fdl(train_args(data, run, 2), log) == 0, test::slurp(log));
  CHECK(fs::exists(run / "model.safetensors"));
}
