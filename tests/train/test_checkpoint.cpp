// Run directories: config round trip and comparison, checkpoint save/load, the commit
// protocol under simulated crashes (uncommitted files, committed-but-not-renamed files,
// inconsistent files), a save on a full disk, and the train.csv / progress.png writers.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "tests/support.h"
#include "train/checkpoint.h"
#include "train/progress.h"

using namespace fdl;
using namespace fdl::train;
namespace fs = std::filesystem;

namespace {

fs::path workdir(const std::string& name) { return test::scratch_dir("checkpoint", name); }

struct Tiny : Module {
  Tensor& w;
  Tensor& b;
  explicit Tiny(uint64_t seed)
      : w(register_parameter("weight", test::randn({3, 2, 3}, seed, DType::F32))),
        b(register_parameter("bias", test::randn({5}, seed + 1, DType::F32))) {}
};

// 64 KiB of weights: larger than the room a full-disk test leaves.
struct Wide : Module {
  explicit Wide(uint64_t seed) {
    register_parameter("weight", test::randn({16384}, seed, DType::F32));
  }
};

// One Adam step with fixed pseudo-random gradients.
void step(Module& m, Adam& opt, uint64_t seed) {
  for (auto& [name, p] : m.named_parameters())
    p.set_grad(test::randn(p.shape(), seed++, DType::F32));
  opt.step();
  opt.zero_grad();
}

std::string bytes_of(const Tensor& t) {
  return std::string(static_cast<const char*>(t.raw()), t.nbytes());
}

std::string weight_bytes(const Module& m) {
  std::string s;
  for (const auto& [name, p] : m.named_parameters()) s += name + ":" + bytes_of(p);
  return s;
}

std::string optimizer_bytes(const Adam& opt) {
  std::string s;
  for (const auto& [name, t] : opt.state()) s += name + ":" + bytes_of(t);
  return s;
}

RunState state_at(int64_t epoch) {
  RunState st;
  st.epoch = epoch;
  st.best_epoch = epoch;
  st.best_val_loss = 1.0 / double(epoch + 1);
  st.dropout = Generator(11 + uint64_t(epoch));
  st.dropout.offset = 100 * uint64_t(epoch);
  st.shuffle = Generator(0xFFFFFFFFFFFFFFF0ull);  // needs all 64 bits in JSON
  st.shuffle.offset = uint64_t(epoch);
  return st;
}

void copy_dir(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

}  // namespace

TEST_CASE("checkpoint: config round trip and the differing option is named") {
  const fs::path d = workdir("config");
  RunConfig c;
  c.run.model = "fd-early";
  c.dataset = "/data/heart";
  c.run.shape = {64, 64, 48};
  c.channels = 2;
  c.classes = 3;
  c.class_names = {"background", "red nucleus", "dentate"};
  c.run.beta = {0.1, 0.2, 1.0};
  c.run.kspace_centre = "unshifted";
  c.run.seed = 0xFFFFFFFFFFFFFFFFull;
  c.run.fold = 3;
  c.run.train_percent = 2.5;
  c.run.lr = 3e-4;
  c.run.batch = 1;
  c.run.epochs = 7;
  c.train_cases = {"a", "b"};
  c.val_cases = {"c"};
  c.test_cases = {"d"};
  write_config((d / "config.json").string(), c);
  const RunConfig r = read_config((d / "config.json").string());
  CHECK(config_difference(c, r).empty());
  CHECK(r.run.seed == c.run.seed);
  CHECK(r.run.lr == c.run.lr);
  CHECK(r.run.train_percent == c.run.train_percent);
  CHECK(r.class_names == c.class_names);
  CHECK(r.test_cases == c.test_cases);

  RunConfig e = c;
  e.run.epochs = 100;  // a resumed run may train longer
  CHECK(config_difference(c, e).empty());
  RunConfig l = c;
  l.run.lr = 1e-3;
  CHECK(config_difference(c, l).find("--lr") != std::string::npos);
  RunConfig k = c;
  k.run.kspace_centre = "shifted";
  CHECK(config_difference(c, k).find("--kspace-centre") != std::string::npos);
  RunConfig s = c;
  s.val_cases = {"b"};
  CHECK(config_difference(c, s).find("split") != std::string::npos);

  io::write_file_atomic((d / "bad.json").string(), "{\"model\": \"unet3d\"}");
  CHECK_THROWS_WITH_AS(read_config((d / "bad.json").string()), doctest::Contains("missing 'shape'"),
                       Error);
}

TEST_CASE("checkpoint: save and load round trip restores weights, optimiser and state") {
  const fs::path d = workdir("roundtrip");
  CHECK_FALSE(has_checkpoint(d.string()));
  Tiny m(1);
  Adam opt(m.named_parameters());
  step(m, opt, 100);
  step(m, opt, 200);
  const RunState st = state_at(2);
  save_checkpoint(d.string(), m, opt, st, true);
  CHECK(has_checkpoint(d.string()));
  for (const char* f :
       {"last.safetensors", "model.safetensors", "optimizer.safetensors", "state.json"})
    CHECK_MESSAGE(fs::exists(d / f), f);
  for (const auto& e : fs::directory_iterator(d))
    CHECK_MESSAGE(e.path().extension() != ".next", e.path());  // all renamed into place

  Tiny m2(99);
  Adam opt2(m2.named_parameters());
  REQUIRE(weight_bytes(m2) != weight_bytes(m));
  const RunState got = load_checkpoint(d.string(), m2, opt2);
  CHECK(weight_bytes(m2) == weight_bytes(m));
  CHECK(optimizer_bytes(opt2) == optimizer_bytes(opt));
  CHECK(opt2.steps() == 2);
  CHECK(got.epoch == 2);
  CHECK(got.best_epoch == 2);
  CHECK(got.best_val_loss == st.best_val_loss);
  CHECK(got.dropout.seed == st.dropout.seed);
  CHECK(got.dropout.offset == st.dropout.offset);
  CHECK(got.shuffle.seed == st.shuffle.seed);
  CHECK(got.shuffle.offset == st.shuffle.offset);

  // Continuing both gives the same next step.
  step(m, opt, 300);
  step(m2, opt2, 300);
  CHECK(weight_bytes(m2) == weight_bytes(m));

  // A later epoch that is not the best keeps model.safetensors at the best epoch.
  RunState st3 = state_at(3);
  st3.best_epoch = 2;
  st3.best_val_loss = st.best_val_loss;
  save_checkpoint(d.string(), m, opt, st3, false);
  const io::SafeTensors best = io::load_safetensors((d / "model.safetensors").string());
  CHECK(best.metadata.at("epoch") == "2");
  Tiny m3(5);
  Adam opt3(m3.named_parameters());
  CHECK(load_checkpoint(d.string(), m3, opt3).epoch == 3);
  CHECK(weight_bytes(m3) == weight_bytes(m));
}

TEST_CASE("checkpoint: a crash at any point of a save leaves a loadable, consistent checkpoint") {
  const fs::path root = workdir("crash");
  const fs::path good = root / "good", later = root / "later";
  fs::create_directories(good);
  fs::create_directories(later);
  Tiny m(1);
  Adam opt(m.named_parameters());
  step(m, opt, 1);
  step(m, opt, 2);
  save_checkpoint(good.string(), m, opt, state_at(2), true);
  const std::string w2 = weight_bytes(m), o2 = optimizer_bytes(opt);
  step(m, opt, 3);
  save_checkpoint(later.string(), m, opt, state_at(3), true);
  const std::string w3 = weight_bytes(m);
  REQUIRE(w3 != w2);

  // The .next files of epoch 3 are written, state.json still says 2.
  auto crashed_before_commit = [&](const fs::path& d) {
    copy_dir(good, d);
    for (const char* f : {"last.safetensors", "model.safetensors", "optimizer.safetensors"})
      fs::copy_file(later / f, d / (std::string(f) + ".next"));
  };

  SUBCASE("before the commit record: the previous epoch is loaded, the new files dropped") {
    const fs::path d = root / "uncommitted";
    crashed_before_commit(d);
    Tiny r(7);
    Adam ro(r.named_parameters());
    const RunState st = load_checkpoint(d.string(), r, ro);
    CHECK(st.epoch == 2);
    CHECK(weight_bytes(r) == w2);
    CHECK(optimizer_bytes(ro) == o2);
    CHECK_FALSE(fs::exists(d / "last.safetensors.next"));
    CHECK(io::load_safetensors((d / "model.safetensors").string()).metadata.at("epoch") == "2");
  }
  SUBCASE("after the commit record, before the renames: the new epoch is rolled forward") {
    const fs::path d = root / "committed";
    crashed_before_commit(d);
    fs::copy_file(later / "state.json", d / "state.json", fs::copy_options::overwrite_existing);
    Tiny r(7);
    Adam ro(r.named_parameters());
    const RunState st = load_checkpoint(d.string(), r, ro);
    CHECK(st.epoch == 3);
    CHECK(weight_bytes(r) == w3);
    CHECK(io::load_safetensors((d / "model.safetensors").string()).metadata.at("epoch") == "3");
    CHECK_FALSE(fs::exists(d / "optimizer.safetensors.next"));
  }
  SUBCASE("files of different epochs without a .next are an error, not a silent mix") {
    const fs::path d = root / "mixed";
    copy_dir(good, d);
    fs::copy_file(later / "last.safetensors", d / "last.safetensors",
                  fs::copy_options::overwrite_existing);
    Tiny r(7);
    Adam ro(r.named_parameters());
    const std::string before = weight_bytes(r);
    CHECK_THROWS_WITH_AS(load_checkpoint(d.string(), r, ro), doctest::Contains("inconsistent"),
                         Error);
    CHECK(weight_bytes(r) == before);
  }
  SUBCASE(
      "only the .next files of an uncommitted first epoch: no checkpoint, a run may start afresh") {
    const fs::path d = root / "first";
    fs::create_directories(d);
    for (const char* f : {"last.safetensors", "optimizer.safetensors"})
      fs::copy_file(later / f, d / (std::string(f) + ".next"));
    CHECK_FALSE(has_checkpoint(d.string()));
  }
  SUBCASE("no state.json: no checkpoint, a clear error") {
    const fs::path d = root / "nostate";
    copy_dir(good, d);
    fs::remove(d / "state.json");
    Tiny r(7);
    Adam ro(r.named_parameters());
    CHECK_THROWS_WITH_AS(load_checkpoint(d.string(), r, ro), doctest::Contains("state.json"),
                         Error);
  }
}

TEST_CASE(
    "checkpoint: a save on a full disk fails naming the file and errno, and the committed one "
    "stays") {
  test::FullDisk disk("checkpoint", "full");
  const std::string d = (disk.dir() / "run").string();
  fs::create_directories(d);
  Wide m(1);
  Adam opt(m.named_parameters());
  step(m, opt, 1);
  save_checkpoint(d, m, opt, state_at(1), true);
  const std::string w1 = weight_bytes(m);
  step(m, opt, 2);
  std::string error;
  {
    const auto full = disk.limit(32 * 1024);  // less than a weight file (64 KiB)
    try {
      save_checkpoint(d, m, opt, state_at(2), true);
    } catch (const Error& e) {
      error = e.what();
    }
  }
  CHECK_MESSAGE(error.find(d + "/last.safetensors.next: write failed: ") == 0, error);
  CHECK_MESSAGE(error.find(std::string("(") + disk.errno_name() + ")") != std::string::npos, error);
  for (const auto& e : fs::directory_iterator(d))
    CHECK_MESSAGE(!io::is_temp_file_name(e.path().filename().string()), e.path());
  Wide r(7);
  Adam ro(r.named_parameters());
  CHECK(load_checkpoint(d, r, ro).epoch == 1);
  CHECK(weight_bytes(r) == w1);
  // With room again the same save succeeds.
  save_checkpoint(d, m, opt, state_at(2), true);
  CHECK(load_checkpoint(d, r, ro).epoch == 2);
  CHECK(weight_bytes(r) == weight_bytes(m));
}

TEST_CASE("progress: train.csv round trip, malformed rows named, progress.png drawn") {
  const fs::path d = workdir("progress");
  const std::string csv = (d / "train.csv").string(), png = (d / "progress.png").string();
  std::vector<EpochRow> rows{{1, 0.9, 0.95, {0.1, 0.02}, 3.5},
                             {2, 0.8, 0.85, {0.25, 0.125}, 3.25},
                             {3, 0.7, 0.8125, {0.375, 0.5}, 3.0}};
  write_train_csv(csv, {"red", "dentate"}, rows);
  const std::string text = io::read_file(csv);
  CHECK(text.rfind("epoch,train_loss,val_loss,val_dice_red,val_dice_dentate,seconds\n1,", 0) == 0);
  const std::vector<EpochRow> back = read_train_csv(csv, 2);
  REQUIRE(back.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(back[i].epoch == rows[i].epoch);
    CHECK(back[i].train_loss == doctest::Approx(rows[i].train_loss).epsilon(1e-8));
    CHECK(back[i].val_loss == doctest::Approx(rows[i].val_loss).epsilon(1e-8));
    CHECK(back[i].val_dice == rows[i].val_dice);  // exact in binary and in 9 digits
  }
  CHECK_THROWS_WITH_AS(read_train_csv(csv, 3), doctest::Contains("columns"), Error);
  io::write_file_atomic(csv, text + "4,0.5,x,0.1,0.2,1\n");
  CHECK_THROWS_WITH_AS(read_train_csv(csv, 2), doctest::Contains("train.csv:5"), Error);
  CHECK_THROWS_AS(write_train_csv(csv, {"red"}, rows), Error);

  write_progress_png(png, {"red", "dentate"}, rows);
  write_progress_png((d / "one.png").string(), {"red", "dentate"}, {rows[0]});
  write_progress_png((d / "none.png").string(), {"red", "dentate"}, {});
  for (const fs::path& p : {d / "progress.png", d / "one.png", d / "none.png"}) {
    const std::string bytes = io::read_file(p.string());
    REQUIRE(bytes.size() > 24);
    CHECK(bytes.rfind("\x89PNG\r\n\x1a\n", 0) == 0);
    auto be32 = [&](size_t at) {
      return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
             (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
    };
    CHECK(be32(16) == 960);  // IHDR width and height
    CHECK(be32(20) == 400);
  }
  // The curves are drawn: the image differs from the empty plot.
  CHECK(io::read_file(png) != io::read_file((d / "none.png").string()));
}

TEST_CASE("checkpoint: preprocessing and split options in config.json, splits.json round trip") {
  const fs::path d = workdir("preprocess");
  RunConfig c;
  c.run.fit = "crop-pad";
  c.run.norm = "percentile";
  c.run.percentiles = {1, 99};
  c.run.folds = 3;
  c.run.test_fraction = 0.3;
  write_config((d / "config.json").string(), c);
  const RunConfig r = read_config((d / "config.json").string());
  CHECK(config_difference(c, r).empty());
  CHECK(r.run.fit == "crop-pad");
  CHECK(r.run.norm == "percentile");
  CHECK(r.run.percentiles == std::array<double, 2>{1, 99});
  CHECK(r.run.folds == 3);
  CHECK(r.run.test_fraction == 0.3);
  const Preprocess p = run_preprocess(r);
  CHECK(p.fit == Fit::CropPad);
  CHECK(p.shape == c.run.shape);
  CHECK(p.pct_high == 99);

  RunConfig f = c;
  f.run.fit = "resize";
  CHECK(config_difference(c, f).find("--fit") != std::string::npos);
  RunConfig n = c;
  n.run.percentiles[0] = 2;
  CHECK(config_difference(c, n).find("--percentiles") != std::string::npos);
  RunConfig t = c;
  t.run.test_fraction = 0.2;
  CHECK(config_difference(c, t).find("--test-fraction") != std::string::npos);

  // A config.json written before these options existed reads with their defaults.
  nlohmann::json old = nlohmann::json::parse(io::read_file((d / "config.json").string()));
  for (const char* key : {"fit", "norm", "percentiles", "folds", "test_fraction"})
    CHECK(old.erase(key) == 1);
  io::write_file_atomic((d / "old.json").string(), old.dump());
  const RunConfig o = read_config((d / "old.json").string());
  CHECK(o.run.fit == "resize");
  CHECK(o.run.norm == "minmax");
  CHECK(o.run.folds == 5);
  CHECK(o.run.test_fraction == 0.2);

  SplitRecord s;
  s.seed = 0xFFFFFFFFFFFFFFF1ull;
  s.fold = 2;
  s.folds = 4;
  s.test_fraction = 0.25;
  s.train_percent = 30;
  s.test = {"t1"};
  s.train = {"a", "b", "c"};
  s.val = {"v"};
  write_splits((d / "splits.json").string(), s);
  const SplitRecord q = read_splits((d / "splits.json").string());
  CHECK(q.seed == s.seed);
  CHECK(q.fold == 2);
  CHECK(q.folds == 4);
  CHECK(q.test_fraction == 0.25);
  CHECK(q.train_percent == 30);
  CHECK(q.test == s.test);
  CHECK(q.train == s.train);
  CHECK(q.val == s.val);

  s.val = {"a"};
  write_splits((d / "twice.json").string(), s);
  CHECK_THROWS_WITH_AS(read_splits((d / "twice.json").string()),
                       doctest::Contains("'a' is listed twice"), Error);
  io::write_file_atomic((d / "partial.json").string(), "{\"seed\": 1}");
  CHECK_THROWS_WITH_AS(read_splits((d / "partial.json").string()),
                       doctest::Contains("partial.json"), Error);
}
