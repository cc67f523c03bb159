#include "train/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/data/dataset.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_file.h"
#include "engine/io/json_int.h"
#include "engine/io/safetensors.h"
#include "engine/memory_limit.h"

namespace fdl::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kWeightFiles[] = {"last.safetensors", "model.safetensors",
                                        "optimizer.safetensors"};
constexpr const char* kNext = ".next";

template <class T>
T field(const json& j, const char* key, const std::string& path) {
  try {
    const json& v = j.at(key);
    FDL_CHECK(io::json_integers_fit<T>(v), path, ": '", key, "' must hold integers in range, got ",
              v.dump());
    return v.get<T>();
  } catch (const json::exception& e) {
    throw Error(path + ": missing or bad '" + key + "': " + e.what());
  }
}

// An integer field in [lo, hi], read without a narrowing cast: a float, a string or a value out
// of range is an error, never a number wrapped into range.
int64_t int_value(const json& v, const char* key, int64_t lo, int64_t hi, const std::string& path) {
  bool ok = false;
  if (v.is_number_unsigned()) {
    ok = hi >= 0 && v.get<uint64_t>() <= uint64_t(hi) && int64_t(v.get<uint64_t>()) >= lo;
  } else if (v.is_number_integer()) {
    ok = v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
  }
  FDL_CHECK(ok, path, ": '", key, "' is ", v.dump(), "; it must be an integer in ", lo, "..", hi);
  return v.is_number_unsigned() ? int64_t(v.get<uint64_t>()) : v.get<int64_t>();
}

int64_t int_field(const json& j, const char* key, int64_t lo, int64_t hi, const std::string& path) {
  return int_value(field<json>(j, key, path), key, lo, hi, path);
}

std::string str(const json& j) { return j.dump(); }

int64_t epoch_of(const io::SafeTensors& st, const std::string& path) {
  auto it = st.metadata.find("epoch");
  FDL_CHECK(it != st.metadata.end(), path, ": no 'epoch' in the safetensors metadata");
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    throw Error(path + ": bad 'epoch' metadata '" + it->second + "'");
  }
}

io::TensorMap params_map(const Module& m) {
  io::TensorMap out;
  for (const auto& [name, p] : m.named_parameters()) out[name] = p.detach();
  return out;
}

void rename_file(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  FDL_CHECK(!ec, from.string(), ": cannot rename to ", to.string(), ": ", ec.message());
}

}  // namespace

void write_config(const std::string& path, const RunConfig& c) {
  json j = {{"dataset", c.dataset},
            {"channels", c.channels},
            {"classes", c.classes},
            {"class_names", c.class_names},
            {"adam",
             {{"beta1", c.adam.beta1},
              {"beta2", c.adam.beta2},
              {"eps", c.adam.eps},
              {"weight_decay", c.adam.weight_decay}}},
            {"split", {{"train", c.train_cases}, {"val", c.val_cases}, {"test", c.test_cases}}}};
  settings_to_json(c.run, j);
  io::write_file_atomic(path, j.dump(2) + "\n");
}

RunConfig read_config(const std::string& path) {
  const json j = io::read_json(path);
  RunConfig c;
  c.run = settings_from_json(j, path);
  c.dataset = field<std::string>(j, "dataset", path);
  c.channels = int(int_field(j, "channels", 1, 4096, path));
  c.classes = int(int_field(j, "classes", 2, kMaxClasses, path));
  c.class_names = field<std::vector<std::string>>(j, "class_names", path);
  const json adam = field<json>(j, "adam", path);
  c.adam.lr = c.run.lr;
  c.adam.beta1 = field<double>(adam, "beta1", path);
  c.adam.beta2 = field<double>(adam, "beta2", path);
  c.adam.eps = field<double>(adam, "eps", path);
  c.adam.weight_decay = field<double>(adam, "weight_decay", path);
  const json split = field<json>(j, "split", path);
  c.train_cases = field<std::vector<std::string>>(split, "train", path);
  c.val_cases = field<std::vector<std::string>>(split, "val", path);
  c.test_cases = field<std::vector<std::string>>(split, "test", path);
  // A batch of the grid (float32) is the least a run of this config allocates.
  std::optional<uint64_t> batch_bytes =
      uint64_t(c.run.batch) * uint64_t(c.channels) * sizeof(float);
  for (int64_t s : c.run.shape)
    if (batch_bytes) batch_bytes = checked_mul(*batch_bytes, uint64_t(s));
  check_memory(batch_bytes, detail::concat(path, ": a batch of ", c.run.batch, " x ", c.channels,
                                           " x ", json(c.run.shape).dump()));
  return c;
}

Preprocess run_preprocess(const RunConfig& c) {
  Preprocess p;
  p.shape = c.run.shape;
  p.fit = parse_fit(c.run.fit);
  p.norm = parse_norm(c.run.norm);
  p.pct_low = c.run.percentiles[0];
  p.pct_high = c.run.percentiles[1];
  return p;
}

void write_splits(const std::string& path, const SplitRecord& s) {
  const json j = {{"seed", s.seed},
                  {"fold", s.fold},
                  {"folds", s.folds},
                  {"test_fraction", s.test_fraction},
                  {"train_percent", s.train_percent},
                  {"test", s.test},
                  {"train", s.train},
                  {"val", s.val}};
  io::write_file_atomic(path, j.dump(2) + "\n");
}

SplitRecord read_splits(const std::string& path) {
  const json j = io::read_json(path);
  SplitRecord s;
  s.seed = field<uint64_t>(j, "seed", path);
  s.fold = field<int>(j, "fold", path);
  s.folds = field<int>(j, "folds", path);
  s.test_fraction = field<double>(j, "test_fraction", path);
  s.train_percent = field<double>(j, "train_percent", path);
  s.test = field<std::vector<std::string>>(j, "test", path);
  s.train = field<std::vector<std::string>>(j, "train", path);
  s.val = field<std::vector<std::string>>(j, "val", path);
  std::set<std::string> seen;
  for (const auto* list : {&s.test, &s.train, &s.val})
    for (const std::string& id : *list)
      FDL_CHECK(seen.insert(id).second, path, ": case '", id, "' is listed twice");
  return s;
}

std::string config_difference(const RunConfig& a, const RunConfig& b) {
  if (a.dataset != b.dataset)
    return "DATASET_DIR differs: the run was made with " + a.dataset + ", this command has " +
           b.dataset;
  const std::string settings = settings_difference(a.run, b.run);
  if (!settings.empty()) return settings;
  // (what differs, saved value, value now)
  const std::vector<std::tuple<const char*, std::string, std::string>> items{
      {"the dataset's channels", str(a.channels), str(b.channels)},
      {"the dataset's classes", str(a.classes) + " " + str(a.class_names),
       str(b.classes) + " " + str(b.class_names)},
      {"the Adam settings", str({a.adam.beta1, a.adam.beta2, a.adam.eps, a.adam.weight_decay}),
       str({b.adam.beta1, b.adam.beta2, b.adam.eps, b.adam.weight_decay})},
  };
  for (const auto& [name, saved, now] : items)
    if (saved != now)
      return std::string(name) + " differs: the run was made with " + saved +
             ", this command has " + now;
  if (a.train_cases != b.train_cases || a.val_cases != b.val_cases || a.test_cases != b.test_cases)
    return "the split differs: the dataset's cases are not those the run was made with";
  return {};
}

std::string run_file(const std::string& run_dir, const char* name) {
  return (fs::path(run_dir) / name).string();
}

bool has_checkpoint(const std::string& run_dir) {
  std::error_code ec;
  if (fs::exists(run_file(run_dir, "state.json"), ec)) return true;
  for (const char* f : kWeightFiles)
    if (fs::exists(run_file(run_dir, f), ec)) return true;
  return false;
}

namespace {

template <class Optimizer>
void save(const std::string& run_dir, const Module& model, const Optimizer& opt, const RunState& st,
          bool is_best) {
  const std::string epoch = std::to_string(st.epoch);
  // 1. The new files beside the committed ones.
  const io::TensorMap weights = params_map(model);
  io::save_safetensors(run_file(run_dir, "last.safetensors") + kNext, weights, {{"epoch", epoch}});
  io::save_safetensors(run_file(run_dir, "optimizer.safetensors") + kNext, opt.state(),
                       {{"epoch", epoch}, {"steps", std::to_string(opt.steps())}});
  if (is_best) {
    char loss[32];
    std::snprintf(loss, sizeof loss, "%.17g", st.best_val_loss);
    io::save_safetensors(run_file(run_dir, "model.safetensors") + kNext, weights,
                         {{"epoch", epoch}, {"val_loss", loss}});
  }
  // 2. The commit record.
  json j = {{"epoch", st.epoch},
            {"best_epoch", st.best_epoch},
            {"best_val_loss", st.best_val_loss},
            {"optimizer_steps", opt.steps()},
            {"dropout_generator", {{"seed", st.dropout.seed}, {"offset", st.dropout.offset}}},
            {"shuffle_generator", {{"seed", st.shuffle.seed}, {"offset", st.shuffle.offset}}}};
  if (std::isfinite(st.dice_ema)) j["dice_ema"] = st.dice_ema;  // the fdl recipe's
  io::write_file_atomic(run_file(run_dir, "state.json"), j.dump(2) + "\n");
  // 3. Into place.
  for (const char* f : kWeightFiles) {
    const fs::path next = run_file(run_dir, f) + kNext;
    if (fs::exists(next)) rename_file(next, run_file(run_dir, f));
  }
}

template <class Optimizer>
RunState load(const std::string& run_dir, Module& model, Optimizer& opt) {
  const std::string state_path = run_file(run_dir, "state.json");
  FDL_CHECK(fs::exists(state_path), run_dir, ": no checkpoint to resume (state.json is missing)");
  const json j = io::read_json(state_path);
  RunState st;
  st.epoch = field<int64_t>(j, "epoch", state_path);
  st.best_epoch = field<int64_t>(j, "best_epoch", state_path);
  st.best_val_loss = field<double>(j, "best_val_loss", state_path);
  if (j.contains("dice_ema")) st.dice_ema = field<double>(j, "dice_ema", state_path);
  const auto steps = field<int64_t>(j, "optimizer_steps", state_path);
  const json dg = field<json>(j, "dropout_generator", state_path);
  const json sg = field<json>(j, "shuffle_generator", state_path);
  st.dropout.seed = field<uint64_t>(dg, "seed", state_path);
  st.dropout.offset = field<uint64_t>(dg, "offset", state_path);
  st.shuffle.seed = field<uint64_t>(sg, "seed", state_path);
  st.shuffle.offset = field<uint64_t>(sg, "offset", state_path);

  // Roll a committed epoch forward, drop an uncommitted one, then check every file agrees.
  io::SafeTensors files[3];
  for (int i = 0; i < 3; ++i) {
    const std::string path = run_file(run_dir, kWeightFiles[i]);
    const int64_t want = i == 1 ? st.best_epoch : st.epoch;
    if (fs::exists(path + kNext)) {
      if (epoch_of(io::load_safetensors(path + kNext), path + kNext) == want)
        rename_file(path + kNext, path);
      else
        fs::remove(path + kNext);
    }
    FDL_CHECK(fs::exists(path), path, ": missing; the checkpoint of epoch ", st.epoch,
              " is incomplete");
    files[i] = io::load_safetensors(path);
    io::require_finite(files[i].tensors, path);
    const int64_t got = epoch_of(files[i], path);
    FDL_CHECK(got == want, path, " holds epoch ", got, " but state.json expects epoch ", want,
              ": the checkpoint is inconsistent");
  }
  const auto ms = files[2].metadata.find("steps");
  FDL_CHECK(ms != files[2].metadata.end() && ms->second == std::to_string(steps),
            run_file(run_dir, "optimizer.safetensors"),
            ": its step count does not match state.json (", steps, ")");
  load_parameters(model, run_file(run_dir, "last.safetensors"));
  opt.load_state(files[2].tensors, steps);
  return st;
}

}  // namespace

void save_checkpoint(const std::string& run_dir, const Module& model, const Adam& opt,
                     const RunState& st, bool is_best) {
  save(run_dir, model, opt, st, is_best);
}
void save_checkpoint(const std::string& run_dir, const Module& model, const Sgd& opt,
                     const RunState& st, bool is_best) {
  save(run_dir, model, opt, st, is_best);
}
RunState load_checkpoint(const std::string& run_dir, Module& model, Adam& opt) {
  return load(run_dir, model, opt);
}
RunState load_checkpoint(const std::string& run_dir, Module& model, Sgd& opt) {
  return load(run_dir, model, opt);
}

}  // namespace fdl::train
