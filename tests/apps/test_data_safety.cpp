// Data safety through the fdl binary (docs/reliability.md): no command writes into or over
// its inputs, into a directory holding files fdl did not write (without --overwrite), or
// beside another fdl writing the same directory; --resume without a checkpoint is an error;
// a write that fails on a full disk ends the command with an error naming the file and the
// errno, and leaves no partial file. Each refusal asserts the exit status, the message and
// that no input or output file changed.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/data/phantoms.h"
#include "engine/io/atomic_file.h"
#include "engine/io/nifti.h"
#include "engine/io/output_dir.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path workdir(const std::string& name) { return test::scratch_dir("data_safety", name); }

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string train_args(const fs::path& ds, const fs::path& run, int epochs) {
  return "train " + ds.string() +
         " --model unet3d --shape 16 16 8 --batch 2 --lr 0.01 --seed 3 --threads 2 --epochs " +
         std::to_string(epochs) + " -o " + run.string();
}

// A dataset and a run trained on it for one epoch.
struct Trained {
  fs::path data, run;
};
Trained trained(const fs::path& d) {
  Trained t{test::sample_dataset(d / "data"), d / "run"};
  const fs::path log = d / "train.log";
  REQUIRE_MESSAGE(test::run_fdl(train_args(t.data, t.run, 1), log) == 0, test::slurp(log));
  return t;
}

// Runs fdl with `args`; checks exit status 1, that the files under `watched` are as they were,
// and that the output has each of `parts`. Returns the output.
std::string refused(const std::string& args, const fs::path& watched,
                    std::initializer_list<std::string> parts) {
  const auto before = test::snapshot(watched);
  const fs::path log = watched.parent_path() / "refused.log";
  const int rc = test::run_fdl(args, log);
  const std::string out = test::slurp(log);
  CAPTURE(args);
  CHECK_MESSAGE(rc == 1, "exit status ", rc, ": ", out);
  for (const std::string& p : parts) CHECK_MESSAGE(has(out, p), "missing '", p, "' in: ", out);
  CHECK_MESSAGE(test::snapshot(watched) == before, "files under ", watched.string(), " changed");
  return out;
}

// The names of fdl's temporary files anywhere under `dir`.
std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (io::is_temp_file_name(e.path().filename().string())) out.push_back(e.path().string());
  return out;
}

}  // namespace

TEST_CASE(
    "data safety: fdl predict into its input folder is refused, with or without --overwrite") {
  const fs::path d = workdir("predict_into_input");
  const Trained t = trained(d);
  const fs::path images = t.data / "imagesTr";
  fs::create_symlink(images, d / "link");
  const std::string predict = "predict " + t.run.string() + " --threads 2 ";
  for (const std::string overwrite : {"", " --overwrite"}) {
    refused(predict + "-o " + images.string() + " " + images.string() + overwrite, t.data,
            {"fdl: error: " + images.string() + ": the output directory is the input " +
             images.string()});
    // A symlink and a ../ lead to the same folder.
    refused(predict + "-o " + (d / "link").string() + " " + images.string() + overwrite, t.data,
            {"the output directory is the input " + images.string()});
    refused(
        predict + "-o " + (images / ".." / "imagesTr").string() + " " + images.string() + overwrite,
        t.data, {"the output directory is the input"});
    refused(predict + "-o " + (images / "masks").string() + " " + images.string() + overwrite,
            t.data,
            {(images / "masks").string() + ": the output directory lies inside the input " +
             images.string()});
    refused(predict + "-o " + t.data.string() + " " + images.string() + overwrite, t.data,
            {t.data.string() + ": the output directory contains the input " + images.string()});
    refused(predict + "-o " + t.run.string() + " " + images.string() + overwrite, t.run,
            {"the output directory is the input " + t.run.string()});
  }
}

TEST_CASE(
    "data safety: a directory holding files fdl did not write is refused without --overwrite") {
  const fs::path d = workdir("foreign");
  const Trained t = trained(d);
  const fs::path theirs = d / "theirs";
  fs::create_directories(theirs);
  std::ofstream(theirs / "notes.txt") << "a researcher's notes";
  const std::string image = (t.data / "imagesTr" / "case_000.nii.gz").string();
  const std::string why = theirs.string() + ": holds files fdl did not write (notes.txt)";
  refused("phantoms --cases 1 --shape 8 8 8 -o " + theirs.string(), theirs, {why, "--overwrite"});
  refused(train_args(t.data, theirs, 1), theirs, {why});
  refused("predict " + t.run.string() + " -o " + theirs.string() + " " + image, theirs, {why});
  refused("disentangle " + image + " -o " + theirs.string(), theirs, {why});
  refused("evaluate " + (t.data / "labelsTr").string() + " " + (t.data / "labelsTr").string() +
              " -o " + (theirs / "metrics").string(),
          theirs, {why});
  refused("study " + t.data.string() + " -o " + theirs.string() + " --epochs 1 --shape 16 16 8",
          theirs, {why});

  // --overwrite writes there, beside the files it does not replace.
  const fs::path log = d / "overwrite.log";
  REQUIRE_MESSAGE(test::run_fdl("predict " + t.run.string() + " -o " + theirs.string() + " " +
                                    image + " --overwrite",
                                log) == 0,
                  test::slurp(log));
  CHECK(fs::exists(theirs / "case_000.nii.gz"));
  CHECK(test::slurp(theirs / "notes.txt") == "a researcher's notes");
  // It did not make the directory fdl's: the next command must say --overwrite again.
  refused("predict " + t.run.string() + " -o " + theirs.string() + " " + image, theirs,
          {theirs.string() + ": holds files fdl did not write (case_000.nii.gz, notes.txt)"});
}

TEST_CASE(
    "data safety: fdl phantoms -o an existing dataset is refused, a directory fdl made is "
    "rewritten") {
  const fs::path d = workdir("phantoms");
  const fs::path made = d / "made";
  PhantomOptions o;
  o.cases = 2;
  o.shape = {8, 8, 8};
  write_phantoms(made.string(), o);
  // The committed sample has no fdl marker: a dataset fdl did not write.
  const fs::path theirs = test::sample_dataset(d / "theirs");
  refused("phantoms -o " + theirs.string() + " --cases 2 --seed 9", theirs,
          {theirs.string() + ": holds files fdl did not write (dataset.json, imagesTr, labelsTr)"});
  const fs::path log = d / "log";
  REQUIRE_MESSAGE(test::run_fdl("phantoms -o " + made.string() + " --cases 2 --seed 9", log) == 0,
                  test::slurp(log));
  CHECK(has(test::slurp(made / "dataset.json"), "\"seed\": 9"));
}

TEST_CASE("data safety: fdl train --resume without state.json is an error and leaves the weights") {
  const fs::path d = workdir("resume_nothing");
  const Trained t = trained(d);
  fs::remove(t.run / "state.json");
  refused(train_args(t.data, t.run, 2) + " --resume", t.run,
          {(t.run / "state.json").string() + ": missing, so there is no checkpoint to resume"});
  // A directory that never held a run has nothing to resume either.
  fs::create_directories(d / "new");
  refused(train_args(t.data, d / "new", 2) + " --resume", d / "new", {"no checkpoint to resume"});
}

TEST_CASE(
    "data safety: one writer per run directory, and the lock of a killed writer does not block") {
  const fs::path d = workdir("lock");
  const fs::path data = test::sample_dataset(d / "data"), run = d / "run";
  // The first writer: long enough to be killed mid-run.
  const pid_t first = test::spawn_fdl(train_args(data, run, 100000));
  for (int i = 0; i < 600 && !fs::exists(run / "state.json"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(fs::exists(run / "state.json"));

  // A second writer, resuming or writing other files there, is refused and names the first one's
  // pid.
  const std::string holder = run.string() + ": another fdl process (pid " + std::to_string(first) +
                             ") is writing to this directory";
  refused(train_args(data, run, 1) + " --resume", data, {holder});
  refused("evaluate " + (data / "labelsTr").string() + " " + (data / "labelsTr").string() + " -o " +
              (run / "metrics").string(),
          data, {holder});
  CHECK_FALSE(fs::exists(run / "metrics.csv"));
  const fs::path log = d / "resume.log";

  // Killed, it leaves its pid in the lock file, which blocks nothing.
  ::kill(first, SIGKILL);
  ::waitpid(first, nullptr, 0);
  CHECK(has(test::slurp(run / io::kLockFile), std::to_string(first)));
  std::string st = test::slurp(run / "state.json");
  const size_t at = st.find("\"epoch\": ") + 9;
  const int epochs = std::stoi(st.substr(at)) + 1;
  REQUIRE_MESSAGE(test::run_fdl(train_args(data, run, epochs) + " --resume", log) == 0,
                  test::slurp(log));
  CHECK(has(test::slurp(log), "resuming"));
  CHECK(temp_files(run).empty());
}

TEST_CASE(
    "data safety: fdl predict --probabilities on a full disk fails naming the file, leaving no "
    "partial file") {
  const fs::path d = workdir("predict_full");
  const Trained t = trained(d);
  test::FullDisk disk("data_safety", "predict_full_disk");
  const fs::path out = disk.dir() / "out";
  const std::string predict = "predict " + t.run.string() + " --threads 2 -o " + out.string() +
                              " " + (t.data / "imagesTr" / "case_000.nii.gz").string();
  const fs::path log = d / "predict.log";
  REQUIRE_MESSAGE(test::run_fdl(predict, log) == 0, test::slurp(log));  // the mask (< 1 KiB) fits
  int rc = 0;
  {
    const auto full = disk.limit(8192);  // the probabilities (~160 KiB) do not
    rc = test::run_fdl(predict + " --probabilities", log);
  }
  const std::string text = test::slurp(log);
  CHECK_MESSAGE(rc == 1, text);
  CHECK_MESSAGE(
      has(text, "fdl: error: " + (out / "case_000_prob.nii.gz").string() + ": write failed: "),
      text);
  CHECK_MESSAGE(has(text, std::string("(") + disk.errno_name() + ")"), text);
  CHECK_FALSE(fs::exists(out / "case_000_prob.nii.gz"));
  CHECK(temp_files(out).empty());
  CHECK(read_nifti((out / "case_000.nii.gz").string()).data.numel() == 32 * 32 * 16);
}

TEST_CASE(
    "data safety: fdl train on a full disk fails naming the file, and the run directory can start "
    "again") {
  const fs::path d = workdir("train_full");
  const fs::path data = test::sample_dataset(d / "data");
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
