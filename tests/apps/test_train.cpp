// `fdl train` end to end on the committed sample dataset (data/sample): the run directory's
// files, resume that is bit-identical to an uninterrupted run (dropout on), and the errors that
// must leave no checkpoint behind.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "engine/device.h"
#include "engine/io/atomic_file.h"
#include "engine/io/nifti.h"
#include "engine/io/safetensors.h"
#include "tests/support.h"
#include "train/checkpoint.h"
#include "train/progress.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path workdir(const std::string& name) { return test::scratch_dir("train", name); }

// A copy of the committed sample, 6 cases of 32x32x16 that the runs below resize to 16x16x8:
// 1 test, 1 validation and 4 training cases (2 steps of batch 2).
const fs::path& sample() {
  static const fs::path dir = test::sample_dataset(workdir("sample"));
  return dir;
}

// Runs `fdl train ARGS` on 2 threads (runs compare bit for bit at a fixed thread count);
// the exit status, and the output in `log`. Passive OpenMP waiting: spinning threads slow
// tiny steps down many times over when the test runner shares the cores.
int fdl_train(const std::string& args, const fs::path& log) {
  return test::run_fdl("train " + args + " --threads 2", log);
}

std::string small(const std::string& model) {
  return sample().string() + " --model " + model + " --shape 16 16 8 --batch 2 --lr 0.01 --seed 3";
}

// name -> bytes of every tensor in a safetensors file.
std::map<std::string, std::string> tensor_bytes(const fs::path& p) {
  std::map<std::string, std::string> out;
  for (const auto& [name, t] : io::load_safetensors(p.string()).tensors)
    out[name] = std::string(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

}  // namespace

TEST_CASE(
    "fdl train: writes the run directory (checkpoints, config, state, train.csv, progress.png)") {
  const fs::path run = workdir("e2e") / "run";
  const fs::path log = run.parent_path() / "log.txt";
  REQUIRE_MESSAGE(fdl_train(small("fd-early") + " --epochs 3 -o " + run.string(), log) == 0,
                  test::slurp(log));
  for (const char* f : {"model.safetensors", "last.safetensors", "optimizer.safetensors",
                        "config.json", "state.json", "train.csv", "progress.png"})
    CHECK_MESSAGE(fs::exists(run / f), f);
  for (const auto& e : fs::directory_iterator(run))
    CHECK_MESSAGE(e.path().filename().string().find(".next") == std::string::npos, e.path());

  const std::vector<train::EpochRow> rows = train::read_train_csv((run / "train.csv").string(), 2);
  REQUIRE(rows.size() == 3);
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].epoch == int64_t(i + 1));
    CHECK(rows[i].train_loss > 0);
    CHECK(rows[i].train_loss <= 1);
    CHECK(rows[i].val_loss <= 1);
    for (double d : rows[i].val_dice) CHECK((d >= 0 && d <= 1));
  }
  CHECK(test::slurp(run / "train.csv")
            .rfind("epoch,train_loss,val_loss,val_dice_red_nucleus,val_dice_dentate,seconds\n",
                   0) == 0);
  CHECK(test::slurp(run / "progress.png").rfind("\x89PNG", 0) == 0);

  const train::RunConfig c = train::read_config((run / "config.json").string());
  CHECK(c.run.model == "fd-early");
  CHECK(c.run.shape == std::array<int64_t, 3>{16, 16, 8});
  CHECK(c.classes == 3);
  CHECK(c.run.seed == 3);
  CHECK(c.adam.lr == 0.01);
  CHECK(c.train_cases.size() == 4);
  CHECK(c.val_cases.size() == 1);
  CHECK(c.test_cases.size() == 1);
  for (const std::string& v : c.val_cases)  // validation never on training cases
    for (const std::string& t : c.train_cases) CHECK(v != t);

  // model.safetensors is the epoch with the lowest validation loss.
  size_t best = 0;
  for (size_t i = 1; i < rows.size(); ++i)
    if (rows[i].val_loss < rows[best].val_loss) best = i;
  CHECK(io::load_safetensors((run / "model.safetensors").string()).metadata.at("epoch") ==
        std::to_string(rows[best].epoch));
  CHECK(io::load_safetensors((run / "last.safetensors").string()).metadata.at("epoch") == "3");

  // An existing checkpoint is not overwritten without --resume, and stays as it was.
  const auto last = tensor_bytes(run / "last.safetensors");
  CHECK(fdl_train(small("fd-early") + " --epochs 3 -o " + run.string(), log) != 0);
  CHECK(test::slurp(log).find("--resume") != std::string::npos);
  CHECK(tensor_bytes(run / "last.safetensors") == last);

  // --resume with another option names it.
  CHECK(fdl_train(small("fd-early") + " --epochs 4 --resume --beta 0.2 0.2 1 -o " + run.string(),
                  log) != 0);
  CHECK_MESSAGE(test::slurp(log).find("--beta") != std::string::npos, test::slurp(log));
  CHECK(fdl_train(small("unet3d") + " --epochs 4 --resume -o " + run.string(), log) != 0);
  CHECK_MESSAGE(test::slurp(log).find("--model") != std::string::npos, test::slurp(log));
  CHECK(tensor_bytes(run / "last.safetensors") == last);
}

TEST_CASE("fdl train: 2 epochs then --resume to 4 ends bit-identical to 4 epochs straight") {
  for (const std::string model : {"unet3d", "fd-late"}) {
    CAPTURE(model);
    const fs::path d = workdir("resume_" + model);
    const fs::path log = d / "log.txt";
    REQUIRE_MESSAGE(
        fdl_train(small(model) + " --epochs 4 -o " + (d / "straight").string(), log) == 0,
        test::slurp(log));
    REQUIRE_MESSAGE(fdl_train(small(model) + " --epochs 2 -o " + (d / "split").string(), log) == 0,
                    test::slurp(log));
    CHECK(io::load_safetensors((d / "split" / "last.safetensors").string()).metadata.at("epoch") ==
          "2");
    CHECK(tensor_bytes(d / "split" / "last.safetensors") !=
          tensor_bytes(d / "straight" / "last.safetensors"));
    REQUIRE_MESSAGE(
        fdl_train(small(model) + " --epochs 4 --resume -o " + (d / "split").string(), log) == 0,
        test::slurp(log));
    CHECK(test::slurp(log).find("resuming") != std::string::npos);

    const auto a = tensor_bytes(d / "straight" / "last.safetensors");
    const auto b = tensor_bytes(d / "split" / "last.safetensors");
    REQUIRE(a.size() == b.size());
    for (const auto& [name, bytes] : a) CHECK_MESSAGE(b.at(name) == bytes, name);
    CHECK(tensor_bytes(d / "straight" / "optimizer.safetensors") ==
          tensor_bytes(d / "split" / "optimizer.safetensors"));
    CHECK(tensor_bytes(d / "straight" / "model.safetensors") ==
          tensor_bytes(d / "split" / "model.safetensors"));
    const auto ra = train::read_train_csv((d / "straight" / "train.csv").string(), 2);
    const auto rb = train::read_train_csv((d / "split" / "train.csv").string(), 2);
    REQUIRE(ra.size() == 4);
    REQUIRE(rb.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
      CHECK(ra[i].train_loss == rb[i].train_loss);
      CHECK(ra[i].val_loss == rb[i].val_loss);
    }
    // Dropout was active: the dropout stream advanced, and both runs saved the same state.
    const std::string state = test::slurp(d / "split" / "state.json");
    CHECK(state == test::slurp(d / "straight" / "state.json"));
    CHECK(state.find("\"offset\": 0,") == std::string::npos);
    CHECK(state.find("\"offset\": 0\n") == std::string::npos);
  }
}

namespace {
// Seconds `fdl train ARGS -o RUN` takes, having run it (it must succeed).
double timed_train(const std::string& args, const fs::path& run, const fs::path& log) {
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(fdl_train(args + " -o " + run.string(), log) == 0, test::slurp(log));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Starts `fdl train ARGS -o RUN` (with --resume once a checkpoint is committed: --resume
// without one is an error) and SIGKILLs it after `delay` seconds unless it ends first.
// Returns true when it was killed.
bool train_killed_after(const std::string& args, const std::string& run, double delay) {
  const std::string resume = fs::exists(run + "/state.json") ? " --resume" : "";
  const pid_t pid = test::spawn_fdl("train " + args + " --threads 2" + resume + " -o " + run);
  std::this_thread::sleep_for(std::chrono::duration<double>(delay));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return true;
  REQUIRE_MESSAGE(WEXITSTATUS(status) == 0, "a start exited with ", WEXITSTATUS(status));
  return false;
}

// The committed epoch in RUN/state.json, or "none".
std::string committed_epoch(const std::string& run) {
  const std::string st = fs::exists(run + "/state.json") ? test::slurp(run + "/state.json") : "";
  const size_t at = st.find("\n  \"epoch\": ");
  return at == std::string::npos ? "none" : st.substr(at + 12, st.find(',', at) - at - 12);
}
}  // namespace

// 24 starts, each SIGKILLed at a random moment between its launch and 1.5 epochs past its
// start-up (both measured first), so kills land in loading, in a step, in validation and in
// a save; most starts commit at most one epoch, so 30 epochs outlast the kills and the run
// never ends before 20 of them. Then the run finishes, and must end bit-identical to an
// uninterrupted one, with no temporary file left.
TEST_CASE("fdl train: 24 kill -9 at random moments, then --resume, end bit-identical") {
  constexpr int kEpochs = 30, kKills = 24;
  const fs::path d = workdir("kill");
  const fs::path log = d / "log.txt";
  const std::string args = small("unet3d") + " --epochs " + std::to_string(kEpochs);
  const double one = timed_train(small("unet3d") + " --epochs 1", d / "one", log);
  const double full = timed_train(args, d / "straight", log);
  const double epoch = std::max(0.0, full - one) / (kEpochs - 1),
               startup = std::max(0.0, one - epoch);
  const uint64_t seed = test::fresh_seed();
  INFO("the kill moments are reproduced by FDL_TEST_SEED=", seed);
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> moment(0, startup + 1.5 * epoch);

  const std::string run = (d / "killed").string();
  std::vector<std::string> committed;  // the epoch in state.json after each kill
  bool finished = false;
  for (int k = 0; k < kKills && !finished; ++k) {
    finished = !train_killed_after(args, run, moment(gen));
    if (!finished) committed.push_back(committed_epoch(run));
  }
  std::string epochs;
  for (const std::string& e : committed) epochs += " " + e;
  MESSAGE(committed.size(), " kills (start-up ", startup, " s, an epoch ", epoch,
          " s); committed epoch after each:", epochs);
  CHECK(committed.size() >= 20);
  if (!finished) {
    const std::string resume = fs::exists(run + "/state.json") ? " --resume" : "";
    REQUIRE_MESSAGE(fdl_train(args + resume + " -o " + run, log) == 0, test::slurp(log));
  }
  CHECK(tensor_bytes(d / "killed" / "last.safetensors") ==
        tensor_bytes(d / "straight" / "last.safetensors"));
  CHECK(tensor_bytes(d / "killed" / "model.safetensors") ==
        tensor_bytes(d / "straight" / "model.safetensors"));
  CHECK(tensor_bytes(d / "killed" / "optimizer.safetensors") ==
        tensor_bytes(d / "straight" / "optimizer.safetensors"));
  const auto rows = train::read_train_csv(run + "/train.csv", 2);
  REQUIRE(rows.size() == size_t(kEpochs));
  for (size_t i = 0; i < rows.size(); ++i) CHECK(rows[i].epoch == int64_t(i + 1));
  for (const auto& e : fs::directory_iterator(run))  // the killed starts' temporary files are gone
    CHECK_MESSAGE(!io::is_temp_file_name(e.path().filename().string()), e.path());
}

// The fdl recipe's run resumes as bit-exactly: its patches and augmentation are keyed by
// (seed, epoch, case), its smoothed Dice is in state.json. Fewer kills, over fewer epochs.
TEST_CASE(
    "fdl train: the fdl recipe killed -9 at random moments, then --resume, ends bit-identical") {
  constexpr int kEpochs = 12, kKills = 8;
  const fs::path d = workdir("kill_fdl");
  const fs::path log = d / "log.txt";
  const std::string recipe =
      small("unet3d") + " --recipe fdl --patch 8 8 8 --val-every 3 --epochs ";
  const std::string args = recipe + std::to_string(kEpochs);
  const double one = timed_train(recipe + "1", d / "one", log);
  const double full = timed_train(args, d / "straight", log);
  const double epoch = std::max(0.0, full - one) / (kEpochs - 1),
               startup = std::max(0.0, one - epoch);
  const uint64_t seed = test::fresh_seed();
  INFO("the kill moments are reproduced by FDL_TEST_SEED=", seed);
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> moment(0, startup + 1.5 * epoch);
  const std::string run = (d / "killed").string();
  bool finished = false;
  int kills = 0;
  for (; kills < kKills && !finished; ++kills)
    finished = !train_killed_after(args, run, moment(gen));
  MESSAGE(kills, " starts (start-up ", startup, " s, an epoch ", epoch, " s)");
  if (!finished) {
    const std::string resume = fs::exists(run + "/state.json") ? " --resume" : "";
    REQUIRE_MESSAGE(fdl_train(args + resume + " -o " + run, log) == 0, test::slurp(log));
  }
  for (const char* f : {"last.safetensors", "model.safetensors", "optimizer.safetensors"})
    CHECK_MESSAGE(tensor_bytes(d / "killed" / f) == tensor_bytes(d / "straight" / f), f);
  CHECK(test::slurp(d / "killed" / "state.json") == test::slurp(d / "straight" / "state.json"));
  const auto rows = train::read_train_csv(run + "/train.csv", 2);
  REQUIRE(rows.size() == size_t(kEpochs));
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].epoch == int64_t(i + 1));
    const bool validated = i == 0 || (i + 1) % 3 == 0;  // the first, every 3rd and the last
    CHECK(std::isfinite(rows[i].val_loss) == validated);
  }
}

TEST_CASE("fdl train: bad input gives a clear error, a non-zero exit and no checkpoint") {
  const fs::path d = workdir("bad");
  const fs::path log = d / "log.txt";
  auto no_checkpoint = [](const fs::path& run) {
    return !fs::exists(run) ||
           (!train::has_checkpoint(run.string()) && !fs::exists(run / "config.json"));
  };

  SUBCASE("a missing dataset directory") {
    CHECK(fdl_train((d / "nowhere").string() + " --model unet3d --shape 16 16 8 -o " +
                        (d / "run1").string(),
                    log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("nowhere") != std::string::npos, test::slurp(log));
    CHECK(no_checkpoint(d / "run1"));
  }
  SUBCASE("a directory that is not a dataset") {
    fs::create_directories(d / "empty");
    CHECK(fdl_train((d / "empty").string() + " --model unet3d --shape 16 16 8 -o " +
                        (d / "run2").string(),
                    log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("dataset.json") != std::string::npos, test::slurp(log));
    CHECK(no_checkpoint(d / "run2"));
  }
  SUBCASE("a dataset whose image file is corrupt") {
    const fs::path ds = d / "corrupt";
    test::sample_dataset(ds);
    const fs::path img = *fs::directory_iterator(ds / "imagesTr");
    std::ofstream(img, std::ios::binary | std::ios::trunc) << "not a nifti file";
    CHECK(fdl_train(
              ds.string() + " --model unet3d --shape 16 16 8 --fold 1 -o " + (d / "run3").string(),
              log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("error") != std::string::npos, test::slurp(log));
    CHECK(no_checkpoint(d / "run3"));
  }
  SUBCASE("a shape the network cannot halve twice") {
    CHECK(fdl_train(small("unet3d") + " --shape 18 16 8 -o " + (d / "run4").string(), log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("--shape") != std::string::npos, test::slurp(log));
    CHECK(no_checkpoint(d / "run4"));
  }
  SUBCASE(
      "--device cuda without a GPU, or in a build without CUDA, is refused before anything is "
      "written") {
    if (!cuda_available()) {  // with a GPU the run is legitimate: nothing to refuse
      CHECK(fdl_train(small("unet3d") + " --device cuda -o " + (d / "run5").string(), log) != 0);
      const std::string text = test::slurp(log);
      CHECK_MESSAGE(text.find("fdl: error: --device cuda: ") != std::string::npos, text);
      CHECK_MESSAGE((text.find("no CUDA device") != std::string::npos ||
                     text.find("built without CUDA") != std::string::npos),
                    text);
      CHECK_FALSE(fs::exists(d / "run5"));
    }
  }
  SUBCASE("--conv names a GPU convolution version") {
    CHECK(fdl_train(small("unet3d") + " --conv winograd -o " + (d / "run7").string(), log) != 0);
    const std::string text = test::slurp(log);
    CHECK_MESSAGE(text.find("--conv") != std::string::npos, text);
    CHECK_MESSAGE(text.find("winograd") != std::string::npos, text);
    CHECK_FALSE(fs::exists(d / "run7"));
  }
  SUBCASE("an absurd --lr is refused before anything is written") {
    const std::string args = sample().string() +
                             " --model unet3d --shape 16 16 8 --batch 2 --lr 1e30 --epochs 3 -o " +
                             (d / "run6").string();
    CHECK(fdl_train(args, log) != 0);
    CHECK_MESSAGE(
        test::slurp(log).find("--lr 1e+30: each value must lie in (0, 1]") != std::string::npos,
        test::slurp(log));
    CHECK_FALSE(fs::exists(d / "run6"));
  }
}

TEST_CASE("fdl train: the GPU conv settings are part of the run, and --resume refuses others") {
  const fs::path d = workdir("conv_config");
  const fs::path log = d / "log.txt", run = d / "run";
  // On the CPU the settings change nothing, but the run records them.
  REQUIRE_MESSAGE(
      fdl_train(
          small("unet3d") + " --epochs 1 --conv tf32 --fast-nondeterministic -o " + run.string(),
          log) == 0,
      test::slurp(log));
  const train::RunConfig c = train::read_config((run / "config.json").string());
  CHECK(c.run.conv == "tf32");
  CHECK(c.run.fast_nondeterministic);
  CHECK(
      fdl_train(small("unet3d") + " --epochs 2 --resume --fast-nondeterministic -o " + run.string(),
                log) != 0);
  CHECK_MESSAGE(
      test::slurp(log).find("--conv differs: the run was made with tf32, this command has tiled") !=
          std::string::npos,
      test::slurp(log));
  CHECK(fdl_train(small("unet3d") + " --epochs 2 --resume --conv tf32 -o " + run.string(), log) !=
        0);
  CHECK_MESSAGE(test::slurp(log).find("--fast-nondeterministic differs") != std::string::npos,
                test::slurp(log));
  REQUIRE_MESSAGE(
      fdl_train(small("unet3d") + " --epochs 2 --resume --conv tf32 --fast-nondeterministic -o " +
                    run.string(),
                log) == 0,
      test::slurp(log));
  CHECK(train::read_train_csv((run / "train.csv").string(), 2).size() == 2);
}

TEST_CASE("fdl train: the dataset check refuses a bad dataset unless --skip-check") {
  const fs::path d = workdir("check");
  const fs::path log = d / "log.txt";
  const fs::path ds = d / "shifted";
  test::sample_dataset(ds);
  // One label moved 10 mm away from its image: it still loads, but no longer lies on it.
  const fs::path label = ds / "labelsTr" / "case_002.nii.gz";
  Volume v = read_nifti(label.string());
  for (Affine* a : {&v.affine, &v.sform, &v.qform}) (*a)[0][3] += 10;
  write_nifti(label.string(), v.data, v, NiftiOutType::UInt8);

  const std::string args = ds.string() + " --model unet3d --shape 16 16 8 --batch 2 --epochs 1 -o ";
  CHECK(fdl_train(args + (d / "refused").string(), log) != 0);
  const std::string text = test::slurp(log);
  CHECK_MESSAGE(text.find("case_002") != std::string::npos, text);
  CHECK_MESSAGE(text.find("--skip-check") != std::string::npos, text);
  CHECK_FALSE(fs::exists(d / "refused" / "config.json"));
  CHECK_FALSE(fs::exists(d / "refused" / "state.json"));

  REQUIRE_MESSAGE(fdl_train(args + (d / "skipped").string() + " --skip-check", log) == 0,
                  test::slurp(log));
  CHECK(fs::exists(d / "skipped" / "model.safetensors"));
}

// The loss guard: a checkpoint whose conv weights are finite but near float's largest value
// (nothing refuses them) overflows the first convolution, so the first resumed step's loss is
// NaN. The run must stop there, naming the step, and leave its checkpoint as it was.
TEST_CASE("fdl train: a non-finite training loss stops the run and keeps the checkpoint") {
  const fs::path d = workdir("nan_loss");
  const fs::path log = d / "log.txt", run = d / "run";
  REQUIRE_MESSAGE(fdl_train(small("unet3d") + " --epochs 1 -o " + run.string(), log) == 0,
                  test::slurp(log));
  const std::string last = (run / "last.safetensors").string();
  io::SafeTensors st = io::load_safetensors(last);
  for (auto& [name, t] : st.tensors) {
    if (t.ndim() != 5) continue;  // conv weights
    t = t.clone();
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = i % 2 ? -3e38f : 3e38f;
  }
  io::save_safetensors(last, st.tensors, st.metadata);
  // The checkpoint and what goes with it; config.json (--epochs) and the lock's pid may change.
  const auto checkpoint = [&] {
    auto files = test::snapshot(run);
    files.erase("config.json");
    files.erase(".fdl-lock");
    return files;
  };
  const auto before = checkpoint();

  CHECK(fdl_train(small("unet3d") + " --epochs 2 --resume -o " + run.string(), log) == 1);
  const std::string text = test::slurp(log);
  CHECK_MESSAGE(text.find("fdl: error: the training loss became ") != std::string::npos, text);
  CHECK_MESSAGE(text.find("nan at epoch 2, step 1; stopping. The checkpoint of epoch 1 in " +
                          run.string() + " is untouched") != std::string::npos,
                text);
  CHECK(checkpoint() == before);
}

TEST_CASE("fdl train: a dataset that is not a set is refused before anything is written (rule 6)") {
  const fs::path d = workdir("not_a_set");
  const fs::path log = d / "log.txt", ds = d / "data", outside = d / "outside";
  test::sample_dataset(ds);
  test::sample_dataset(outside);
  const fs::path img = ds / "imagesTr" / "case_003.nii.gz";
  SUBCASE("the same image under two names") {
    fs::remove(img);
    fs::create_hard_link(ds / "imagesTr" / "case_001.nii.gz", img);
    CHECK(fdl_train(
              ds.string() + " --model unet3d --shape 16 16 8 --epochs 1 -o " + (d / "run").string(),
              log) == 1);
    CHECK_MESSAGE(
        test::slurp(log).find(img.string() + " is the same file as " +
                              (ds / "imagesTr" / "case_001.nii.gz").string()) != std::string::npos,
        test::slurp(log));
    CHECK_FALSE(fs::exists(d / "run"));
  }
  SUBCASE("an image outside the dataset, accepted with --allow-outside-paths") {
    fs::remove(img);
    fs::create_symlink(outside / "imagesTr" / "case_003.nii.gz", img);
    const std::string args =
        ds.string() + " --model unet3d --shape 16 16 8 --epochs 1 -o " + (d / "run").string();
    CHECK(fdl_train(args, log) == 1);
    CHECK_MESSAGE(
        test::slurp(log).find("outside the dataset directory " + ds.string()) != std::string::npos,
        test::slurp(log));
    CHECK_FALSE(fs::exists(d / "run"));
    CHECK_MESSAGE(fdl_train(args + " --allow-outside-paths", log) == 0, test::slurp(log));
  }
}
