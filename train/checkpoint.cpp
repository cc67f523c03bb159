#include "train/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/io/atomic_file.h"
#include "engine/io/json_int.h"
#include "engine/io/safetensors.h"

namespace fdl::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kWeightFiles[] = {"last.safetensors", "model.safetensors",
                                        "optimizer.safetensors"};
constexpr const char* kNext = ".next";

json read_json(const std::string& path) {
  const std::string text = io::read_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}

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

// A field added after the first runs were written: its default when absent.
template <class T>
T field_or(const json& j, const char* key, T fallback, const std::string& path) {
  return j.contains(key) ? field<T>(j, key, path) : fallback;
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
  const json j = {{"model", c.model},
                  {"dataset", c.dataset},
                  {"shape", c.shape},
                  {"fit", fit_name(c.fit)},
                  {"norm", norm_name(c.norm)},
                  {"percentiles", {c.pct_low, c.pct_high}},
                  {"channels", c.channels},
                  {"classes", c.classes},
                  {"class_names", c.class_names},
                  {"beta", c.beta},
                  {"kspace_centre", c.kspace_centre},
                  {"seed", c.seed},
                  {"fold", c.fold},
                  {"train_percent", c.train_percent},
                  {"folds", c.folds},
                  {"test_fraction", c.test_fraction},
                  {"lr", c.adam.lr},
                  {"batch", c.batch},
                  {"epochs", c.epochs},
                  {"adam",
                   {{"beta1", c.adam.beta1},
                    {"beta2", c.adam.beta2},
                    {"eps", c.adam.eps},
                    {"weight_decay", c.adam.weight_decay}}},
                  {"conv", c.conv},
                  {"fast_nondeterministic", c.fast_nondeterministic},
                  {"split", {{"train", c.train_cases}, {"val", c.val_cases}, {"test", c.test_cases}}}};
  io::write_file_atomic(path, j.dump(2) + "\n");
}

RunConfig read_config(const std::string& path) {
  const json j = read_json(path);
  RunConfig c;
  c.model = field<std::string>(j, "model", path);
  c.dataset = field<std::string>(j, "dataset", path);
  c.shape = field<std::array<int64_t, 3>>(j, "shape", path);
  try {
    c.fit = parse_fit(field_or<std::string>(j, "fit", fit_name(c.fit), path));
    c.norm = parse_norm(field_or<std::string>(j, "norm", norm_name(c.norm), path));
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  const auto pct = field_or<std::array<double, 2>>(j, "percentiles", {c.pct_low, c.pct_high}, path);
  c.pct_low = pct[0];
  c.pct_high = pct[1];
  c.channels = field<int>(j, "channels", path);
  c.classes = field<int>(j, "classes", path);
  c.class_names = field<std::vector<std::string>>(j, "class_names", path);
  c.beta = field<std::array<double, 3>>(j, "beta", path);
  c.kspace_centre = field<std::string>(j, "kspace_centre", path);
  c.seed = field<uint64_t>(j, "seed", path);
  c.fold = field<int>(j, "fold", path);
  c.train_percent = field<double>(j, "train_percent", path);
  c.folds = field_or<int>(j, "folds", c.folds, path);
  c.test_fraction = field_or<double>(j, "test_fraction", c.test_fraction, path);
  c.adam.lr = field<double>(j, "lr", path);
  c.batch = field<int>(j, "batch", path);
  c.epochs = field<int>(j, "epochs", path);
  const json adam = field<json>(j, "adam", path);
  c.adam.beta1 = field<double>(adam, "beta1", path);
  c.adam.beta2 = field<double>(adam, "beta2", path);
  c.adam.eps = field<double>(adam, "eps", path);
  c.adam.weight_decay = field<double>(adam, "weight_decay", path);
  c.conv = field_or<std::string>(j, "conv", c.conv, path);
  c.fast_nondeterministic = field_or<bool>(j, "fast_nondeterministic", c.fast_nondeterministic, path);
  const json split = field<json>(j, "split", path);
  c.train_cases = field<std::vector<std::string>>(split, "train", path);
  c.val_cases = field<std::vector<std::string>>(split, "val", path);
  c.test_cases = field<std::vector<std::string>>(split, "test", path);
  return c;
}

Preprocess run_preprocess(const RunConfig& c) {
  Preprocess p;
  p.shape = c.shape;
  p.fit = c.fit;
  p.norm = c.norm;
  p.pct_low = c.pct_low;
  p.pct_high = c.pct_high;
  return p;
}

void write_splits(const std::string& path, const SplitRecord& s) {
  const json j = {{"seed", s.seed},   {"fold", s.fold},   {"folds", s.folds},
                  {"test_fraction", s.test_fraction}, {"train_percent", s.train_percent},
                  {"test", s.test},   {"train", s.train}, {"val", s.val}};
  io::write_file_atomic(path, j.dump(2) + "\n");
}

SplitRecord read_splits(const std::string& path) {
  const json j = read_json(path);
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
  // (option as the user spells it, saved value, value now), in CLI order.
  const std::vector<std::tuple<const char*, std::string, std::string>> items{
      {"DATASET_DIR", a.dataset, b.dataset},
      {"--model", a.model, b.model},
      {"--shape", str(a.shape), str(b.shape)},
      {"--fit", fit_name(a.fit), fit_name(b.fit)},
      {"--norm", norm_name(a.norm) + " " + str({a.pct_low, a.pct_high}),
       norm_name(b.norm) + " " + str({b.pct_low, b.pct_high})},
      {"--batch", str(a.batch), str(b.batch)},
      {"--lr", str(a.adam.lr), str(b.adam.lr)},
      {"--seed", str(a.seed), str(b.seed)},
      {"--beta", str(a.beta), str(b.beta)},
      {"--kspace-centre", a.kspace_centre, b.kspace_centre},
      {"--fold", str(a.fold), str(b.fold)},
      {"--train-percent", str(a.train_percent), str(b.train_percent)},
      {"--folds", str(a.folds), str(b.folds)},
      {"--test-fraction", str(a.test_fraction), str(b.test_fraction)},
      {"the dataset's channels", str(a.channels), str(b.channels)},
      {"the dataset's classes", str(a.classes) + " " + str(a.class_names),
       str(b.classes) + " " + str(b.class_names)},
      {"--conv", a.conv, b.conv},
      {"--fast-nondeterministic", str(a.fast_nondeterministic), str(b.fast_nondeterministic)},
      {"the Adam settings",
       str({a.adam.beta1, a.adam.beta2, a.adam.eps, a.adam.weight_decay}),
       str({b.adam.beta1, b.adam.beta2, b.adam.eps, b.adam.weight_decay})},
  };
  for (const auto& [name, saved, now] : items)
    if (saved != now) return std::string(name) + " differs: the run was made with " + saved + ", this command has " + now;
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

void save_checkpoint(const std::string& run_dir, const Module& model, const Adam& opt,
                     const RunState& st, bool is_best) {
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
  const json j = {{"epoch", st.epoch},
                  {"best_epoch", st.best_epoch},
                  {"best_val_loss", st.best_val_loss},
                  {"optimizer_steps", opt.steps()},
                  {"dropout_generator", {{"seed", st.dropout.seed}, {"offset", st.dropout.offset}}},
                  {"shuffle_generator", {{"seed", st.shuffle.seed}, {"offset", st.shuffle.offset}}}};
  io::write_file_atomic(run_file(run_dir, "state.json"), j.dump(2) + "\n");
  // 3. Into place.
  for (const char* f : kWeightFiles) {
    const fs::path next = run_file(run_dir, f) + kNext;
    if (fs::exists(next)) rename_file(next, run_file(run_dir, f));
  }
}

RunState load_checkpoint(const std::string& run_dir, Module& model, Adam& opt) {
  const std::string state_path = run_file(run_dir, "state.json");
  FDL_CHECK(fs::exists(state_path), run_dir, ": no checkpoint to resume (state.json is missing)");
  const json j = read_json(state_path);
  RunState st;
  st.epoch = field<int64_t>(j, "epoch", state_path);
  st.best_epoch = field<int64_t>(j, "best_epoch", state_path);
  st.best_val_loss = field<double>(j, "best_val_loss", state_path);
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
    FDL_CHECK(fs::exists(path), path, ": missing; the checkpoint of epoch ", st.epoch, " is incomplete");
    files[i] = io::load_safetensors(path);
    const int64_t got = epoch_of(files[i], path);
    FDL_CHECK(got == want, path, " holds epoch ", got, " but state.json expects epoch ", want,
              ": the checkpoint is inconsistent");
  }
  const auto ms = files[2].metadata.find("steps");
  FDL_CHECK(ms != files[2].metadata.end() && ms->second == std::to_string(steps),
            run_file(run_dir, "optimizer.safetensors"), ": its step count does not match state.json (",
            steps, ")");
  load_parameters(model, run_file(run_dir, "last.safetensors"));
  opt.load_state(files[2].tensors, steps);
  return st;
}

}  // namespace fdl::train
