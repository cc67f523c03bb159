#include "train/trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>

#include "engine/autograd.h"
#include "engine/data/check.h"
#include "engine/data/dataset.h"
#include "engine/data/split.h"
#include "engine/device.h"
#include "engine/io/output_dir.h"
#include "engine/memory_limit.h"
#include "engine/ops/conv3d.h"
#include "engine/ops/dice.h"
#include "engine/ops/one_hot.h"
#include "engine/optim/adam.h"
#include "engine/profile.h"
#include "kernels/common/philox.h"
#include "models/seg_model.h"
#include "train/checkpoint.h"
#include "train/device_option.h"
#include "train/predict.h"
#include "train/progress.h"

namespace fdl::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Independent Philox streams from one user seed: 0 the initial weights, 1 dropout, 2 shuffling.
uint64_t stream_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);  // splitmix64
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A fresh permutation of 0..n-1 from the generator (Fisher-Yates), advancing it.
std::vector<int> shuffled(int n, Generator& g) {
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const uint64_t at = g.reserve(uint64_t(n));
  for (int i = n - 1; i > 0; --i) {
    const int j = std::min(i, int(kernels::philox_uniform(g.seed, at, uint64_t(i)) * float(i + 1)));
    std::swap(order[size_t(i)], order[size_t(j)]);
  }
  return order;
}

// Samples idx[begin, end) stacked into images (N, C, X, Y, Z) and labels (N, X, Y, Z).
std::pair<Tensor, Tensor> stack(const std::vector<Sample>& s, const std::vector<int>& idx, size_t begin,
                                size_t end) {
  const Tensor& im0 = s[size_t(idx[begin])].image;
  const int64_t n = int64_t(end - begin);
  Tensor x = Tensor::empty({n, im0.size(0), im0.size(1), im0.size(2), im0.size(3)});
  Tensor y = Tensor::empty({n, im0.size(1), im0.size(2), im0.size(3)}, DType::I32);
  for (size_t b = begin; b < end; ++b) {
    const Sample& c = s[size_t(idx[b])];
    std::memcpy(static_cast<char*>(x.raw()) + (b - begin) * c.image.nbytes(), c.image.raw(), c.image.nbytes());
    std::memcpy(static_cast<char*>(y.raw()) + (b - begin) * c.label.nbytes(), c.label.raw(), c.label.nbytes());
  }
  return {x, y};
}

// Class names as CSV column suffixes: letters, digits and '_' only.
std::vector<std::string> foreground_names(const Dataset& ds) {
  std::vector<std::string> out;
  for (int k = 1; k < ds.classes; ++k) {
    std::string n = size_t(k) < ds.class_names.size() ? ds.class_names[size_t(k)] : "";
    for (char& ch : n)
      if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    out.push_back(n.empty() ? "class" + std::to_string(k) : n);
  }
  return out;
}

struct Validation {
  double loss = 0;
  std::vector<double> dice;  // foreground classes
};

// A host batch on `dev`: the batch is copied there, its labels one-hot encoded there, and
// the forward pass runs in its NVTX range.
struct Batch {
  Tensor logits, target;
};
Batch forward_batch(SegModel& model, const Tensor& x_host, const Tensor& y_host, int classes, Device dev) {
  FDL_PROFILE_RANGE("forward");
  return {model.forward(x_host.to(dev)), one_hot(y_host.to(dev), classes)};
}

// The training loss of a host batch.
Tensor batch_loss(SegModel& model, const Tensor& x_host, const Tensor& y_host, int classes, Device dev) {
  const Batch b = forward_batch(model, x_host, y_host, classes, dev);
  FDL_PROFILE_RANGE("loss");
  return soft_dice_loss(b.logits, b.target);
}

// Backward and the Adam step, each in its NVTX range.
void update(const Tensor& loss, Adam& opt) {
  {
    FDL_PROFILE_RANGE("backward");
    loss.backward();
  }
  FDL_PROFILE_RANGE("optimizer");
  opt.step();
  opt.zero_grad();
}

// Each validation case alone (batch 1, eval mode, no tape); the mean over cases.
Validation validate(SegModel& model, const std::vector<Sample>& val, int classes, Device dev) {
  FDL_PROFILE_RANGE("validation");
  autograd::NoGrad no_grad;
  model.train(false);
  Validation v;
  v.dice.assign(size_t(classes - 1), 0.0);
  std::vector<int> idx(val.size());
  std::iota(idx.begin(), idx.end(), 0);
  for (size_t i = 0; i < val.size(); ++i) {
    const auto [x, y] = stack(val, idx, i, i + 1);
    const Batch b = forward_batch(model, x, y, classes, dev);
    FDL_PROFILE_RANGE("loss");
    // The loss is 1 - the mean foreground soft Dice (dice.h): one pass over the logits gives both.
    const std::vector<double> d = dice_per_class(b.logits, b.target);
    double sum = 0;
    for (int k = 1; k < classes; ++k) {
      v.dice[size_t(k - 1)] += d[size_t(k)];
      sum += d[size_t(k)];
    }
    v.loss += 1.0 - sum / double(classes - 1);
  }
  v.loss /= double(val.size());
  for (double& d : v.dice) d /= double(val.size());
  model.train(true);
  return v;
}

std::vector<Sample> load_all(const Dataset& ds, const std::vector<int>& idx, const Preprocess& pre) {
  std::vector<Sample> out;
  for (int i : idx) out.push_back(load_case(ds.cases[size_t(i)], pre, ds.classes));
  return out;
}

std::vector<std::string> ids(const Dataset& ds, const std::vector<int>& idx) {
  std::vector<std::string> out;
  for (int i : idx) out.push_back(ds.cases[size_t(i)].id);
  return out;
}

// The split: drawn from the seed, or a splits.json whose case ids are looked up in the dataset.
std::pair<Split, SplitRecord> resolve_split(const Dataset& ds, const TrainOptions& o) {
  if (o.splits_file.empty()) {
    const Split s = make_split(int(ds.cases.size()), o.run.seed, o.run.fold, o.run.train_percent, o.run.test_fraction, o.run.folds);
    return {s, {o.run.seed, o.run.fold, o.run.folds, o.run.test_fraction, o.run.train_percent, ids(ds, s.test), ids(ds, s.train),
                ids(ds, s.val)}};
  }
  const SplitRecord r = read_splits(o.splits_file);
  std::map<std::string, int> index;
  for (size_t i = 0; i < ds.cases.size(); ++i) index[ds.cases[i].id] = int(i);
  auto lookup = [&](const std::vector<std::string>& list, const char* what) {
    std::vector<int> out;
    for (const std::string& id : list) {
      const auto it = index.find(id);
      FDL_CHECK(it != index.end(), "--splits ", o.splits_file, ": ", what, " case '", id,
                "' is not in the dataset ", o.dataset_dir, " (a split belongs to its dataset)");
      out.push_back(it->second);
    }
    return out;
  };
  return {{lookup(r.test, "test"), lookup(r.train, "training"), lookup(r.val, "validation")}, r};
}

// The integrity check of engine/data/check.h; its report on stderr and an error when it fails.
void check_or_refuse(const Dataset& ds, const TrainOptions& o) {
  if (o.skip_check) return;
  const CheckReport report = check_dataset(ds);
  if (report.ok()) return;
  std::fprintf(stderr, "%s", report.text().c_str());
  throw Error(o.dataset_dir + ": the dataset check found errors (listed above); fix them, or pass "
              "--skip-check to train anyway");
}

// What a stopped run leaves behind, for its error message.
std::string kept(const RunState& st, const std::string& dir) {
  if (st.epoch == 0) return "No checkpoint was written to " + dir;
  return "The checkpoint of epoch " + std::to_string(st.epoch) + " in " + dir + " is untouched";
}

void check_options(const TrainOptions& o) {
  parse_device(o.device);
  validate(o.run);
  FDL_CHECK(o.profile_steps >= 0, "--profile-steps must be non-negative, got ", o.profile_steps);
  std::optional<uint64_t> batch_bytes =
      uint64_t(o.run.batch) * sizeof(float);  // a batch of the grid, at least
  for (int64_t s : o.run.shape)
    if (batch_bytes) batch_bytes = checked_mul(*batch_bytes, uint64_t(s));
  check_memory(batch_bytes, detail::concat("--shape ", o.run.shape[0], " ", o.run.shape[1], " ",
                                           o.run.shape[2], " with --batch ", o.run.batch,
                                           ": one batch of the training grid"));
}

// Runs `steps` training steps (over as many epochs as it takes), timing each; writes nothing.
// On the GPU each step waits for its queued work before the clock is read.
void profile(SegModel& model, Adam& opt, const std::vector<Sample>& train, int batch, int classes,
             Generator& shuffle, int steps, Device dev) {
  std::vector<double> times;
  while (int(times.size()) < steps) {
    const std::vector<int> order = shuffled(int(train.size()), shuffle);
    for (size_t b = 0; b < order.size() && int(times.size()) < steps; b += size_t(batch)) {
      const auto t0 = Clock::now();
      const auto [x, y] = stack(train, order, b, std::min(order.size(), b + size_t(batch)));
      const Tensor loss = batch_loss(model, x, y, classes, dev);
      update(loss, opt);
      const double l = loss.item();
      device_synchronize();
      times.push_back(seconds_since(t0));
      std::fprintf(stderr, "step %zu: %.3f s  loss %.5f  %s\n", times.size(), times.back(), l,
                   x.shape().str().c_str());
    }
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const std::string where = dev == Device::CUDA ? "on the GPU" : std::to_string(omp_get_max_threads()) + " threads";
  std::printf("profile: %d steps, mean %.3f s, median %.3f s (first step %.3f s), %s\n", steps,
              std::accumulate(times.begin(), times.end(), 0.0) / double(steps), sorted[sorted.size() / 2],
              times.front(), where.c_str());
}

}  // namespace

TrainResult train(const TrainOptions& o) {
  check_options(o);
  const Device dev = parse_device(o.device);
  if (dev == Device::CUDA) {
    set_cuda_conv_algo(parse_conv_algo(o.run.conv));
    set_cuda_conv_nondeterministic(o.run.fast_nondeterministic);
  }
  const bool profiling = o.profile_steps > 0;
  const std::string& dir = o.run_dir;
  FDL_CHECK(profiling || o.resume || !has_checkpoint(dir), dir,
            ": already holds a training checkpoint; pass --resume to continue it, or choose another -o");
  const bool resuming = !profiling && o.resume;
  FDL_CHECK(!resuming || fs::exists(run_file(dir, "state.json")), run_file(dir, "state.json"),
            ": missing, so there is no checkpoint to resume; nothing was changed");

  // The dataset, its split and the configuration, before anything is written.
  const Dataset ds = open_dataset(o.dataset_dir, {.allow_outside_paths = o.allow_outside_paths});
  check_or_refuse(ds, o);
  const auto [split, record] = resolve_split(ds, o);
  FDL_CHECK(!split.val.empty() && !split.train.empty(), o.dataset_dir, ": fold ", record.fold, " of ",
            ds.cases.size(), " cases leaves ", split.train.size(), " training and ", split.val.size(),
            " validation cases; both must be non-empty");
  RunConfig cfg;
  cfg.run = o.run;
  cfg.run.fold = record.fold;  // a --splits file's, when given
  cfg.run.train_percent = record.train_percent;
  cfg.run.folds = record.folds;
  cfg.run.test_fraction = record.test_fraction;
  cfg.dataset = fs::weakly_canonical(fs::absolute(ds.root.empty() ? o.dataset_dir : ds.root)).string();
  cfg.channels = ds.channels;
  cfg.classes = ds.classes;
  cfg.class_names = ds.class_names;
  cfg.adam.lr = o.run.lr;
  cfg.train_cases = ids(ds, split.train);
  cfg.val_cases = ids(ds, split.val);
  cfg.test_cases = ids(ds, split.test);
  const std::string config_path = run_file(dir, "config.json");
  if (resuming) {
    FDL_CHECK(fs::exists(config_path), config_path, ": missing; cannot check that --resume continues the same run");
    const std::string diff = config_difference(read_config(config_path), cfg);
    FDL_CHECK(diff.empty(), "--resume ", dir, ": ", diff);
  }
  // Held until the run ends: checks the directory is fdl's and no other writer's.
  std::optional<io::OutputDir> out;
  if (!profiling) out.emplace(dir, io::OutputClaim{{o.dataset_dir, o.splits_file}, {}, o.overwrite});

  ModelOptions mo;
  mo.in_channels = ds.channels;
  mo.classes = ds.classes;
  mo.base_filters = o.run.base_filters;
  mo.beta = o.run.beta;
  mo.centre = parse_kspace_centre(o.run.kspace_centre);
  Generator init(stream_seed(o.run.seed, 0));
  const std::shared_ptr<SegModel> model = make_model(o.run.model, mo, init);
  model->to(dev);  // before Adam, whose moments are made beside the parameters
  model->dropout_generator() = Generator(stream_seed(o.run.seed, 1));
  Generator shuffle(stream_seed(o.run.seed, 2));
  Adam opt(model->named_parameters(), cfg.adam);

  ProgressBar bar;
  const auto t_load = Clock::now();
  const Preprocess pre = run_preprocess(cfg);
  const std::vector<Sample> train_set = load_all(ds, split.train, pre);
  const std::vector<Sample> val_set = load_all(ds, split.val, pre);
  bar.line("fdl train: " + o.run.model + ", " + std::to_string(train_set.size()) + " training and " +
           std::to_string(val_set.size()) + " validation cases loaded in " + format_duration(seconds_since(t_load)));
  model->train(true);
  if (profiling) {
    profile(*model, opt, train_set, o.run.batch, ds.classes, shuffle, o.profile_steps, dev);
    return {};
  }

  const std::vector<std::string> names = foreground_names(ds);
  if (!o.splits_file.empty())
    bar.line("the split of " + o.splits_file + ": fold " + std::to_string(record.fold) + " of " +
             std::to_string(record.folds) + ", " + std::to_string(split.test.size()) + " test cases");
  write_splits(run_file(dir, "splits.json"), record);
  const std::string csv = run_file(dir, "train.csv"), png = run_file(dir, "progress.png");
  RunState st;
  std::vector<EpochRow> rows;
  if (resuming) {
    st = load_checkpoint(dir, *model, opt);
    model->dropout_generator() = st.dropout;
    shuffle = st.shuffle;
    if (fs::exists(csv)) rows = read_train_csv(csv, names.size());
    std::erase_if(rows, [&](const EpochRow& r) { return r.epoch > st.epoch; });  // uncommitted epochs
    bar.line("resuming " + dir + " after epoch " + std::to_string(st.epoch) + " (best epoch " +
             std::to_string(st.best_epoch) + ")");
  }
  write_config(config_path, cfg);

  const int64_t n_train = int64_t(train_set.size());
  const int64_t steps_per_epoch = (n_train + o.run.batch - 1) / o.run.batch;
  const double voxels_per_case = double(o.run.shape[0] * o.run.shape[1] * o.run.shape[2]);
  const auto t_session = Clock::now();
  int64_t session_steps = 0;
  for (int64_t epoch = st.epoch + 1; epoch <= o.run.epochs; ++epoch) {
    FDL_PROFILE_RANGE("epoch");
    const auto t_epoch = Clock::now();
    const std::vector<int> order = shuffled(int(n_train), shuffle);
    double loss_sum = 0, train_seconds = 0, voxels = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      const auto t_step = Clock::now();
      const size_t b0 = size_t(s * o.run.batch), b1 = std::min(size_t(n_train), b0 + size_t(o.run.batch));
      const auto [x, y] = stack(train_set, order, b0, b1);
      const Tensor loss = batch_loss(*model, x, y, ds.classes, dev);
      update(loss, opt);
      // Read once the whole step is queued, so the GPU is not idle while the host waits. A
      // non-finite loss stops the run before these weights reach a checkpoint.
      const double l = loss.item();
      FDL_CHECK(std::isfinite(l), "the training loss became ", l, " at epoch ", epoch, ", step ", s + 1,
                "; stopping. ", kept(st, dir), " (try a smaller --lr)");
      loss_sum += l;
      voxels += double(b1 - b0) * voxels_per_case;
      train_seconds += seconds_since(t_step);
      ++session_steps;
      const double per_step = seconds_since(t_session) / double(session_steps);
      const double remaining = double((o.run.epochs - epoch) * steps_per_epoch + steps_per_epoch - s - 1);
      bar.update(epoch, o.run.epochs, s + 1, steps_per_epoch, loss_sum / double(s + 1), voxels / train_seconds,
                 per_step * remaining);
    }
    const Validation v = validate(*model, val_set, ds.classes, dev);
    FDL_CHECK(std::isfinite(v.loss), "the validation loss became ", v.loss, " at epoch ", epoch,
              "; stopping. ", kept(st, dir));
    EpochRow row{epoch, loss_sum / double(steps_per_epoch), v.loss, v.dice, seconds_since(t_epoch)};
    rows.push_back(row);
    const bool best = v.loss < st.best_val_loss;
    st.epoch = epoch;
    if (best) st.best_epoch = epoch, st.best_val_loss = v.loss;
    st.dropout = model->dropout_generator();
    st.shuffle = shuffle;
    // The table and figure first: rows past the committed epoch are dropped on resume.
    {
      FDL_PROFILE_RANGE("checkpoint");
      write_train_csv(csv, names, rows);
      write_progress_png(png, names, rows);
      save_checkpoint(dir, *model, opt, st, best);
    }

    char buf[128];
    std::snprintf(buf, sizeof buf, "epoch %lld/%d  train loss %.4f  val loss %.4f  dice",
                  static_cast<long long>(epoch), o.run.epochs, row.train_loss, row.val_loss);
    std::string msg = buf;
    for (size_t k = 0; k < names.size(); ++k) {
      std::snprintf(buf, sizeof buf, " %s %.3f", names[k].c_str(), v.dice[k]);
      msg += buf;
    }
    msg += "  " + format_duration(row.seconds) + (best ? "  *best" : "");
    bar.line(msg);
  }
  std::printf("trained %lld epochs; best validation loss %.5f at epoch %lld -> %s\n",
              static_cast<long long>(st.epoch), st.best_val_loss, static_cast<long long>(st.best_epoch),
              run_file(dir, "model.safetensors").c_str());
  TrainResult result{st.epoch, st.best_epoch, st.best_val_loss, {}};
  if (split.test.empty()) {
    std::printf("no held-out test cases (--test-fraction %g); no test metrics\n", record.test_fraction);
    return result;
  }
  // The held-out cases, predicted by the best weights on their original grids.
  load_parameters(*model, run_file(dir, "model.safetensors"));
  std::vector<Case> test_cases;
  for (int i : split.test) test_cases.push_back(ds.cases[size_t(i)]);
  try {
    result.test_summary = evaluate_cases({cfg, pre, model}, test_cases,
                                         {run_file(dir, "test_metrics"), run_file(dir, "test_montage.png")});
  } catch (const Error& e) {  // e.g. a bad test label under --skip-check
    throw Error(std::string("training finished and its checkpoint is complete, but the evaluation of the test "
                            "cases failed: ") + e.what());
  }
  std::printf("test set: %zu cases, best epoch %lld -> %s.csv/.json, %s (green truth, red prediction)\n%s",
              test_cases.size(), static_cast<long long>(st.best_epoch), run_file(dir, "test_metrics").c_str(),
              run_file(dir, "test_montage.png").c_str(), result.test_summary.c_str());
  return result;
}

}  // namespace fdl::train
