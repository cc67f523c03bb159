#include "train/trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <thread>
#include <variant>

#include "engine/allocator.h"
#include "engine/autograd.h"
#include "engine/data/check.h"
#include "engine/data/dataset.h"
#include "engine/data/split.h"
#include "engine/device.h"
#include "engine/io/output_dir.h"
#include "engine/memory_limit.h"
#include "engine/ops/conv3d.h"
#include "engine/ops/dice.h"
#include "engine/ops/dice_ce.h"
#include "engine/ops/one_hot.h"
#include "engine/optim/adam.h"
#include "engine/optim/schedule.h"
#include "engine/optim/sgd.h"
#include "engine/profile.h"
#include "models/seg_model.h"
#include "train/checkpoint.h"
#include "train/device_option.h"
#include "train/native_grid.h"
#include "train/patch_loader.h"
#include "train/predict.h"
#include "train/progress.h"
#include "train/sliding_window.h"

namespace fdl::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Independent Philox streams from one user seed: 0 the initial weights, 1 dropout, 2 shuffling,
// and for the fdl recipe 3 the augmentation and 4 the patch draws.
uint64_t stream_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);  // splitmix64
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Samples idx[begin, end) stacked into images (N, C, X, Y, Z) and labels (N, X, Y, Z).
std::pair<Tensor, Tensor> stack(const std::vector<Sample>& s, const std::vector<int>& idx,
                                size_t begin, size_t end) {
  const Tensor& im0 = s[size_t(idx[begin])].image;
  const int64_t n = int64_t(end - begin);
  Tensor x = Tensor::empty({n, im0.size(0), im0.size(1), im0.size(2), im0.size(3)});
  Tensor y = Tensor::empty({n, im0.size(1), im0.size(2), im0.size(3)}, DType::I32);
  for (size_t b = begin; b < end; ++b) {
    const Sample& c = s[size_t(idx[b])];
    std::memcpy(static_cast<char*>(x.raw()) + (b - begin) * c.image.nbytes(), c.image.raw(),
                c.image.nbytes());
    std::memcpy(static_cast<char*>(y.raw()) + (b - begin) * c.label.nbytes(), c.label.raw(),
                c.label.nbytes());
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

bool fdl_recipe(const RunSettings& run) { return run.recipe == "fdl"; }

struct Validation {
  double loss = 0;
  std::vector<double> dice;  // foreground classes
};

// A host batch on `dev`: the batch is copied there, its labels one-hot encoded there, and
// the forward pass runs in its NVTX range.
struct Batch {
  Tensor logits, target;
};
Batch forward_batch(SegModel& model, const Tensor& x_host, const Tensor& y_host, int classes,
                    Device dev) {
  FDL_PROFILE_RANGE("forward");
  return {model.forward(x_host.to(dev)), one_hot(y_host.to(dev), classes)};
}

// The run's optimiser (--optimizer).
using Optimizer = std::variant<Adam, Sgd>;

// The loss of logits against a one-hot target (--loss).
Tensor loss_of(const std::string& loss, const Tensor& logits, const Tensor& target) {
  FDL_PROFILE_RANGE("loss");
  return loss == "dice-ce" ? dice_ce_loss(logits, target) : soft_dice_loss(logits, target);
}

// The training loss of a host batch.
Tensor batch_loss(SegModel& model, const Tensor& x_host, const Tensor& y_host, int classes,
                  Device dev, const std::string& loss) {
  const Batch b = forward_batch(model, x_host, y_host, classes, dev);
  return loss_of(loss, b.logits, b.target);
}

// Backward and the optimiser's step, each in its NVTX range.
void update(const Tensor& loss, Optimizer& optimizer) {
  {
    FDL_PROFILE_RANGE("backward");
    loss.backward();
  }
  FDL_PROFILE_RANGE("optimizer");
  std::visit(
      [](auto& opt) {
        opt.step();
        opt.zero_grad();
      },
      optimizer);
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

// The fdl recipe's validation: each case by the sliding window (no mirroring), argmax, and per
// class the Dice of the voxels pooled over the cases (nnU-Net's pseudo-Dice; 1 for a class
// absent from both). The loss is 1 - their mean.
Validation validate_windows(SegModel& model, const std::vector<Sample>& val, int classes,
                            const RunSettings& run) {
  FDL_PROFILE_RANGE("validation");
  std::vector<double> tp(size_t(classes), 0.0), fp = tp, fn = tp;
  for (const Sample& s : val) {
    const Tensor mask =
        argmax_classes(sliding_window_logits(model, s.image, {run.patch, run.overlap, false}));
    const int32_t* m = mask.data<int32_t>();
    const int32_t* l = s.label.data<int32_t>();
    for (int64_t i = 0; i < mask.numel(); ++i) {
      if (m[i] == l[i]) {
        tp[size_t(m[i])] += 1;
      } else {
        fp[size_t(m[i])] += 1;
        fn[size_t(l[i])] += 1;
      }
    }
  }
  model.train(true);
  Validation v;
  double sum = 0;
  for (size_t k = 1; k < size_t(classes); ++k) {
    const double denominator = 2 * tp[k] + fp[k] + fn[k];
    v.dice.push_back(denominator > 0 ? 2 * tp[k] / denominator : 1.0);
    sum += v.dice.back();
  }
  v.loss = 1 - sum / double(classes - 1);
  return v;
}

// An epoch the fdl recipe does not validate: nan in its table row.
Validation not_validated(int classes) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {nan, std::vector<double>(size_t(classes - 1), nan)};
}

std::vector<Sample> load_all(const Dataset& ds, const std::vector<int>& idx,
                             const Preprocess& pre) {
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
    const Split s = make_split(int(ds.cases.size()), o.run.seed, o.run.fold, o.run.train_percent,
                               o.run.test_fraction, o.run.folds);
    return {s,
            {o.run.seed, o.run.fold, o.run.folds, o.run.test_fraction, o.run.train_percent,
             ids(ds, s.test), ids(ds, s.train), ids(ds, s.val)}};
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
  throw Error(o.dataset_dir +
              ": the dataset check found errors (listed above); fix them, or pass "
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
  FDL_CHECK(o.profile_steps == 0 || !fdl_recipe(o.run),
            "--profile-steps times the paper recipe's steps; the fdl recipe measures its step in "
            "the plan it prints");
  std::optional<uint64_t> batch_bytes =
      uint64_t(o.run.batch) * sizeof(float);  // a batch of the grid, at least
  for (int64_t s : o.run.shape)
    if (batch_bytes) batch_bytes = checked_mul(*batch_bytes, uint64_t(s));
  check_memory(batch_bytes,
               detail::concat("--shape ", o.run.shape[0], " ", o.run.shape[1], " ", o.run.shape[2],
                              " with --batch ", o.run.batch, ": one batch of the training grid"));
}

// Runs `steps` training steps (over as many epochs as it takes), timing each; writes nothing.
// On the GPU each step waits for its queued work before the clock is read.
void profile(SegModel& model, Optimizer& opt, const std::vector<Sample>& train,
             const std::string& loss_name, int batch, int classes, Generator& shuffle, int steps,
             Device dev) {
  std::vector<double> times;
  while (int(times.size()) < steps) {
    const std::vector<int> order = random_permutation(int(train.size()), shuffle);
    for (size_t b = 0; b < order.size() && int(times.size()) < steps; b += size_t(batch)) {
      const auto t0 = Clock::now();
      const auto [x, y] = stack(train, order, b, std::min(order.size(), b + size_t(batch)));
      const Tensor loss = batch_loss(model, x, y, classes, dev, loss_name);
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
  const std::string where =
      dev == Device::CUDA ? "on the GPU" : std::to_string(omp_get_max_threads()) + " threads";
  std::printf("profile: %d steps, mean %.3f s, median %.3f s (first step %.3f s), %s\n", steps,
              std::accumulate(times.begin(), times.end(), 0.0) / double(steps),
              sorted[sorted.size() / 2], times.front(), where.c_str());
}

// The steps of a run, in the order train() takes them.

// What a run is, decided before anything is written: its device, dataset, split and
// configuration, checked against the saved one on --resume.
struct RunPlan {
  Device dev = Device::CPU;
  bool profiling = false, resuming = false;
  Dataset ds;
  Split split;
  SplitRecord record;
  RunConfig cfg;
  std::vector<NiftiHeader> train_grids, val_grids;  // fdl recipe: the cases' grids
};

// The fdl recipe's grids: every training and validation case's header, and --spacing 0 0 0
// resolved to their median (the same on --resume, which insists on the same cases).
void plan_grids(RunPlan& p) {
  const auto headers = [&](const std::vector<int>& idx) {
    std::vector<NiftiHeader> out;
    for (int i : idx) out.push_back(read_nifti_header(p.ds.cases[size_t(i)].image));
    return out;
  };
  p.train_grids = headers(p.split.train);
  p.val_grids = headers(p.split.val);
  if (p.cfg.run.spacing == std::array<double, 3>{0, 0, 0}) {
    std::vector<NiftiHeader> all = p.train_grids;
    all.insert(all.end(), p.val_grids.begin(), p.val_grids.end());
    p.cfg.run.spacing = median_spacing(all);
  }
}

RunPlan plan_run(const TrainOptions& o) {
  check_options(o);
  RunPlan p;
  p.dev = parse_device(o.device);
  if (p.dev == Device::CUDA) {
    set_cuda_conv_algo(parse_conv_algo(o.run.conv));
    set_cuda_conv_nondeterministic(o.run.fast_nondeterministic);
  }
  p.profiling = o.profile_steps > 0;
  const std::string& dir = o.run_dir;
  FDL_CHECK(
      p.profiling || o.resume || !has_checkpoint(dir), dir,
      ": already holds a training checkpoint; pass --resume to continue it, or choose another -o");
  p.resuming = !p.profiling && o.resume;
  FDL_CHECK(!p.resuming || fs::exists(run_file(dir, "state.json")), run_file(dir, "state.json"),
            ": missing, so there is no checkpoint to resume; nothing was changed");

  p.ds = open_dataset(o.dataset_dir, {.allow_outside_paths = o.allow_outside_paths});
  check_or_refuse(p.ds, o);
  std::tie(p.split, p.record) = resolve_split(p.ds, o);
  FDL_CHECK(!p.split.val.empty() && !p.split.train.empty(), o.dataset_dir, ": fold ", p.record.fold,
            " of ", p.ds.cases.size(), " cases leaves ", p.split.train.size(), " training and ",
            p.split.val.size(), " validation cases; both must be non-empty");
  RunConfig& cfg = p.cfg;
  cfg.run = o.run;
  resolve_auto(cfg.run);
  cfg.run.fold = p.record.fold;  // a --splits file's, when given
  cfg.run.train_percent = p.record.train_percent;
  cfg.run.folds = p.record.folds;
  cfg.run.test_fraction = p.record.test_fraction;
  cfg.dataset =
      fs::weakly_canonical(fs::absolute(p.ds.root.empty() ? o.dataset_dir : p.ds.root)).string();
  cfg.channels = p.ds.channels;
  cfg.classes = p.ds.classes;
  cfg.class_names = p.ds.class_names;
  cfg.adam.lr = cfg.run.lr;
  cfg.train_cases = ids(p.ds, p.split.train);
  cfg.val_cases = ids(p.ds, p.split.val);
  cfg.test_cases = ids(p.ds, p.split.test);
  if (fdl_recipe(cfg.run)) plan_grids(p);
  if (p.resuming) {
    const std::string config_path = run_file(dir, "config.json");
    FDL_CHECK(fs::exists(config_path), config_path,
              ": missing; cannot check that --resume continues the same run");
    const RunConfig saved = read_config(config_path);
    // A patch chosen from the memory budget stays the run's, whatever the budget is now.
    if (cfg.run.patch == std::array<int64_t, 3>{0, 0, 0}) cfg.run.patch = saved.run.patch;
    const std::string diff = config_difference(saved, cfg);
    FDL_CHECK(diff.empty(), "--resume ", dir, ": ", diff);
  }
  return p;
}

// The model on its device, its optimiser beside it, and the three random streams (run_settings.h:
// seed).
struct Trainee {
  std::shared_ptr<SegModel> model;
  Optimizer opt;
  Generator shuffle;
};

ModelOptions model_options(const RunPlan& p) {
  ModelOptions mo;
  mo.in_channels = p.ds.channels;
  mo.classes = p.ds.classes;
  mo.base_filters = p.cfg.run.base_filters;
  mo.beta = p.cfg.run.beta;
  mo.centre = parse_kspace_centre(p.cfg.run.kspace_centre);
  return mo;
}

Trainee build_model(const RunPlan& p) {
  Generator init(stream_seed(p.cfg.run.seed, 0));
  const std::shared_ptr<SegModel> model = make_model(p.cfg.run.model, model_options(p), init);
  model->to(p.dev);  // before the optimiser, whose state is made beside the parameters
  model->dropout_generator() = Generator(stream_seed(p.cfg.run.seed, 1));
  model->train(true);
  const RunSettings& run = p.cfg.run;
  Optimizer opt = run.optimizer == "sgd"
                      ? Optimizer(Sgd(model->named_parameters(), SgdOptions{.lr = run.lr}))
                      : Optimizer(Adam(model->named_parameters(), p.cfg.adam));
  return {model, std::move(opt), Generator(stream_seed(run.seed, 2))};
}

// The training and validation cases, preprocessed once and held in memory: on the --shape grid
// (paper recipe), or each at the run's spacing with its foreground index (fdl recipe: patches).
struct RunData {
  Preprocess pre;
  std::vector<Sample> train, val;
  std::vector<PatchCase> patches;
};

RunData load_data(const RunPlan& p, ProgressBar& bar) {
  const auto t0 = Clock::now();
  RunData d{run_preprocess(p.cfg), {}, {}, {}};
  size_t n_train = 0;
  if (fdl_recipe(p.cfg.run)) {
    const auto load = [&](int i, const NiftiHeader& h) {
      return load_case(p.ds.cases[size_t(i)], native_preprocess(d.pre, h, p.cfg.run.spacing),
                       p.ds.classes);
    };
    for (size_t i = 0; i < p.split.train.size(); ++i) {
      Sample s = load(p.split.train[i], p.train_grids[i]);
      ForegroundIndex fg = index_foreground(s.label, p.ds.classes);
      d.patches.push_back({std::move(s), std::move(fg)});
    }
    for (size_t i = 0; i < p.split.val.size(); ++i)
      d.val.push_back(load(p.split.val[i], p.val_grids[i]));
    n_train = d.patches.size();
  } else {
    d.train = load_all(p.ds, p.split.train, d.pre);
    d.val = load_all(p.ds, p.split.val, d.pre);
    n_train = d.train.size();
  }
  bar.line("fdl train: " + p.cfg.run.model + ", " + std::to_string(n_train) + " training and " +
           std::to_string(d.val.size()) + " validation cases loaded in " +
           format_duration(seconds_since(t0)));
  return d;
}

// One training step of a fresh copy of the network (its own weights and dropout stream, so the
// run's are untouched) on zeros of `patch` x `batch`: the device's peak bytes above what was
// in use before, and the seconds of the second of two steps (the first pays for plans and
// allocations).
struct StepProbe {
  double bytes = 0, seconds = 0;
};
StepProbe probe_step(const RunPlan& p, Index3 patch, int batch) {
  Generator g(0);
  const std::shared_ptr<SegModel> model = make_model(p.cfg.run.model, model_options(p), g);
  model->to(p.dev);
  model->train(true);
  Allocator& alloc = Allocator::get(p.dev);
  alloc.reset_peak();
  const double before = double(alloc.stats().in_use);
  StepProbe out;
  for (int step = 0; step < 2; ++step) {
    const auto t0 = Clock::now();
    const Tensor x = Tensor::zeros({batch, p.ds.channels, patch[0], patch[1], patch[2]}).to(p.dev);
    const Tensor y = Tensor::zeros({batch, patch[0], patch[1], patch[2]}, DType::I32).to(p.dev);
    const Tensor loss = loss_of(p.cfg.run.loss, model->forward(x), one_hot(y, p.ds.classes));
    loss.backward();
    loss.item();
    device_synchronize();
    out.seconds = seconds_since(t0);
  }
  out.bytes = double(alloc.stats().peak) - before;
  return out;
}

// The fdl recipe's plan, printed before the first step: spacing, patch (--patch 0 0 0 chosen
// here from the memory budget, half the memory ceiling: a step measured at 32^3 gives the
// bytes per voxel), batch, the memory of a step measured at the patch, and the time of an
// epoch's steps from that measured step. Resolves p.cfg.run.patch before config.json is written.
void plan_patches(RunPlan& p, const RunData& d, const Trainee& t, ProgressBar& bar) {
  RunSettings& run = p.cfg.run;
  const Index3 median = median_grid(p.train_grids, run.spacing);
  std::string chosen = "given";
  if (run.patch == Index3{0, 0, 0}) {
    // Up to 32^3, and large enough for an FD model's centre block (the patch rule).
    Index3 small{};
    for (size_t a = 0; a < 3; ++a)
      small[a] = std::min<int64_t>(
          32, std::max((median[a] + 3) / 4 * 4, int64_t(std::ceil(1 / run.beta[a] / 4)) * 4));
    const double per_voxel = probe_step(p, small, 1).bytes / double(small[0] * small[1] * small[2]);
    const uint64_t budget = memory_ceiling() / 2;
    run.patch = choose_patch(median, per_voxel, run.batch, budget);
    chosen = "chosen for a budget of " + byte_size_text(budget);
    validate(run);  // a patch too small for an FD model, as if it had been given
  }
  const StepProbe step = probe_step(p, run.patch, run.batch);
  double state_bytes = 0;  // weights, gradients and at most two moments (Adam's; SGD keeps one)
  for (const auto& [name, w] : t.model->named_parameters()) state_bytes += 4.0 * double(w.nbytes());
  const int64_t steps = (int64_t(d.patches.size()) + run.batch - 1) / run.batch;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "plan (fdl recipe): spacing %g %g %g (median grid %lldx%lldx%lld), patch "
                "%lldx%lldx%lld (%s), "
                "batch %d; memory on %s about %s (one step measured at the patch, plus weights and "
                "optimiser); "
                "an epoch's %lld steps about %s (measured step; validation not included)",
                run.spacing[0], run.spacing[1], run.spacing[2], static_cast<long long>(median[0]),
                static_cast<long long>(median[1]), static_cast<long long>(median[2]),
                static_cast<long long>(run.patch[0]), static_cast<long long>(run.patch[1]),
                static_cast<long long>(run.patch[2]), chosen.c_str(), run.batch,
                p.dev == Device::CUDA ? "cuda" : "cpu",
                byte_size_text(uint64_t(step.bytes + state_bytes)).c_str(),
                static_cast<long long>(steps),
                format_duration(double(steps) * step.seconds).c_str());
  bar.line(buf);
}

// Where the run stands: the committed epoch and the table of epochs so far.
struct History {
  RunState st;
  std::vector<EpochRow> rows;
};

// The run directory's splits.json and config.json, and on --resume the checkpoint's state.
History start_or_resume(const RunPlan& p, const std::string& dir,
                        const std::vector<std::string>& names, Trainee& t, ProgressBar& bar) {
  write_splits(run_file(dir, "splits.json"), p.record);
  History h;
  if (p.resuming) {
    h.st = std::visit([&](auto& opt) { return load_checkpoint(dir, *t.model, opt); }, t.opt);
    t.model->dropout_generator() = h.st.dropout;
    t.shuffle = h.st.shuffle;
    const std::string csv = run_file(dir, "train.csv");
    if (fs::exists(csv)) h.rows = read_train_csv(csv, names.size());
    std::erase_if(h.rows,
                  [&](const EpochRow& r) { return r.epoch > h.st.epoch; });  // uncommitted epochs
    bar.line("resuming " + dir + " after epoch " + std::to_string(h.st.epoch) + " (best epoch " +
             std::to_string(h.st.best_epoch) + ")");
  }
  write_config(run_file(dir, "config.json"), p.cfg);
  return h;
}

// The throughput and time-left estimate across the epochs of this process.
struct Pace {
  Clock::time_point start = Clock::now();
  int64_t steps = 0;
};

// The loss of an fdl-recipe batch of patches: its streams to the device, the network on them.
Tensor patch_loss(SegModel& model, const PatchSample& b, int classes, Device dev,
                  const std::string& loss) {
  Tensor target;
  Tensor logits;
  {
    FDL_PROFILE_RANGE("forward");
    std::vector<Tensor> streams;
    for (const Tensor& s : b.streams) streams.push_back(s.to(dev));
    logits = model.forward_streams(streams);
    target = one_hot(b.label.to(dev), classes);
  }
  return loss_of(loss, logits, target);
}

struct EpochLoss {
  double loss = 0;       // the mean over the steps
  double data_wait = 0;  // seconds the steps waited for the fdl recipe's loader
};

// One epoch's training steps over a fresh shuffle: each case once, as a whole volume (paper
// recipe) or as a patch from the loader's workers (fdl recipe). A non-finite loss stops the run
// before these weights reach a checkpoint.
EpochLoss train_epoch(Trainee& t, const RunData& d, const RunPlan& p, int64_t epoch,
                      const History& h, const std::string& dir, Pace& pace, ProgressBar& bar) {
  const RunSettings& run = p.cfg.run;
  const bool patches = fdl_recipe(run);
  const int64_t n = int64_t(patches ? d.patches.size() : d.train.size()),
                steps = (n + run.batch - 1) / run.batch;
  const Index3& grid = patches ? run.patch : run.shape;
  const double voxels_per_case = double(grid[0] * grid[1] * grid[2]);
  const std::vector<int> order = random_permutation(int(n), t.shuffle);
  std::optional<PatchLoader> loader;
  if (patches) {
    PatchSource src{&d.patches,
                    t.model.get(),
                    p.ds.classes,
                    run.patch,
                    run.foreground_fraction,
                    std::nullopt,
                    stream_seed(run.seed, 4),
                    stream_seed(run.seed, 3)};
    if (run.augment == "on") src.augment = augment_options(run);
    const int workers = std::clamp(int(std::thread::hardware_concurrency()) / 2, 1, 4);
    loader.emplace(src, epoch, order, run.batch, workers);
  }
  double loss_sum = 0, seconds = 0, voxels = 0;
  for (int64_t s = 0; s < steps; ++s) {
    const auto t_step = Clock::now();
    const size_t b0 = size_t(s * run.batch), b1 = std::min(size_t(n), b0 + size_t(run.batch));
    Tensor loss;
    if (patches) {
      loss = patch_loss(*t.model, loader->next(), p.ds.classes, p.dev, run.loss);
    } else {
      const auto [x, y] = stack(d.train, order, b0, b1);
      loss = batch_loss(*t.model, x, y, p.ds.classes, p.dev, run.loss);
    }
    update(loss, t.opt);
    // Read once the whole step is queued, so the GPU is not idle while the host waits.
    const double l = loss.item();
    FDL_CHECK(std::isfinite(l), "the training loss became ", l, " at epoch ", epoch, ", step ",
              s + 1, "; stopping. ", kept(h.st, dir), " (try a smaller --lr)");
    loss_sum += l;
    voxels += double(b1 - b0) * voxels_per_case;
    seconds += seconds_since(t_step);
    ++pace.steps;
    const double per_step = seconds_since(pace.start) / double(pace.steps);
    const double remaining = double((run.epochs - epoch) * steps + steps - s - 1);
    bar.update(epoch, run.epochs, s + 1, steps, loss_sum / double(s + 1), voxels / seconds,
               per_step * remaining);
  }
  return {loss_sum / double(steps), loader ? loader->wait_seconds() : 0.0};
}

// The score that picks model.safetensors, lower is better: the validation loss (paper
// recipe), or 1 minus the moving average of the validation Dice (fdl recipe; updated in h.st,
// and nan for an epoch without validation, which is never best).
double best_score(const RunSettings& run, const Validation& v, History& h) {
  if (!fdl_recipe(run)) return v.loss;
  if (!std::isfinite(v.loss)) return v.loss;
  const double dice = 1 - v.loss;
  h.st.dice_ema = std::isfinite(h.st.dice_ema)
                      ? run.best_ema * h.st.dice_ema + (1 - run.best_ema) * dice
                      : dice;
  return 1 - h.st.dice_ema;
}

// The epoch's row, state and checkpoint: the table and figure first, since rows past the
// committed epoch are dropped on resume, then the checkpoint (checkpoint.h) commits it.
void checkpoint_epoch(const std::string& dir, const std::vector<std::string>& names,
                      const EpochRow& row, double score, bool data_wait, Trainee& t, History& h) {
  FDL_PROFILE_RANGE("checkpoint");
  h.rows.push_back(row);
  const bool best = score < h.st.best_val_loss;
  h.st.epoch = row.epoch;
  if (best) h.st.best_epoch = row.epoch, h.st.best_val_loss = score;
  h.st.dropout = t.model->dropout_generator();
  h.st.shuffle = t.shuffle;
  write_train_csv(run_file(dir, "train.csv"), names, h.rows, data_wait);
  write_progress_png(run_file(dir, "progress.png"), names, h.rows);
  std::visit([&](const auto& opt) { save_checkpoint(dir, *t.model, opt, h.st, best); }, t.opt);
}

std::string epoch_line(const EpochRow& row, int epochs, const std::vector<std::string>& names,
                       bool best, bool data_wait) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "epoch %lld/%d  train loss %.4f  val loss %.4f  dice",
                static_cast<long long>(row.epoch), epochs, row.train_loss, row.val_loss);
  std::string msg = buf;
  for (size_t k = 0; k < names.size(); ++k) {
    std::snprintf(buf, sizeof buf, " %s %.3f", names[k].c_str(), row.val_dice[k]);
    msg += buf;
  }
  msg += "  " + format_duration(row.seconds);
  if (data_wait) msg += " (data wait " + format_duration(row.data_wait) + ")";
  return msg + (best ? "  *best" : "");
}

// The held-out cases, predicted by the best weights on their original grids: test_metrics.*
// and test_montage.png (predict.h).
std::string test_and_report(const RunPlan& p, const RunData& d, Trainee& t, const std::string& dir,
                            int64_t best_epoch) {
  load_parameters(*t.model, run_file(dir, "model.safetensors"));
  std::vector<Case> test_cases;
  for (int i : p.split.test) test_cases.push_back(p.ds.cases[size_t(i)]);
  std::string summary;
  try {
    summary = evaluate_cases({p.cfg, d.pre, t.model}, test_cases,
                             {run_file(dir, "test_metrics"), run_file(dir, "test_montage.png")});
  } catch (const Error& e) {  // e.g. a bad test label under --skip-check
    throw Error(
        std::string(
            "training finished and its checkpoint is complete, but the evaluation of the test "
            "cases failed: ") +
        e.what());
  }
  std::printf(
      "test set: %zu cases, best epoch %lld -> %s.csv/.json, %s (green truth, red prediction)\n%s",
      test_cases.size(), static_cast<long long>(best_epoch), run_file(dir, "test_metrics").c_str(),
      run_file(dir, "test_montage.png").c_str(), summary.c_str());
  return summary;
}

}  // namespace

TrainResult train(const TrainOptions& o) {
  RunPlan plan = plan_run(o);
  const std::string& dir = o.run_dir;
  // Held until the run ends: checks the directory is fdl's and no other writer's.
  std::optional<io::OutputDir> out;
  if (!plan.profiling)
    out.emplace(dir, io::OutputClaim{{o.dataset_dir, o.splits_file}, {}, o.overwrite});
  Trainee t = build_model(plan);
  ProgressBar bar;
  const RunData data = load_data(plan, bar);
  if (plan.profiling) {
    profile(*t.model, t.opt, data.train, plan.cfg.run.loss, o.run.batch, plan.ds.classes, t.shuffle,
            o.profile_steps, plan.dev);
    return {};
  }
  if (!o.splits_file.empty())
    bar.line("the split of " + o.splits_file + ": fold " + std::to_string(plan.record.fold) +
             " of " + std::to_string(plan.record.folds) + ", " +
             std::to_string(plan.split.test.size()) + " test cases");

  const std::vector<std::string> names = foreground_names(plan.ds);
  const RunSettings& run = plan.cfg.run;
  const bool fdl = fdl_recipe(run);
  if (fdl) plan_patches(plan, data, t, bar);
  History h = start_or_resume(plan, dir, names, t, bar);
  Pace pace;
  for (int64_t epoch = h.st.epoch + 1; epoch <= o.run.epochs; ++epoch) {
    if (fdl && run.patience > 0 && h.st.epoch - h.st.best_epoch >= run.patience) {
      bar.line("stopping early: no new best in the last " + std::to_string(run.patience) +
               " epochs (--patience)");
      break;
    }
    FDL_PROFILE_RANGE("epoch");
    const auto t_epoch = Clock::now();
    if (run.lr_schedule == "poly")  // the 0-based epoch (docs/method.md §5.4)
      std::visit([&](auto& opt) { opt.set_lr(poly_lr(run.lr, epoch - 1, run.epochs)); }, t.opt);
    const EpochLoss train = train_epoch(t, data, plan, epoch, h, dir, pace, bar);
    // The fdl recipe validates the first epoch (so a best exists from the start), every
    // --val-every epochs and the last.
    const bool validating =
        !fdl || epoch == 1 || epoch % run.val_every == 0 || epoch == o.run.epochs;
    const Validation v = !validating ? not_validated(plan.ds.classes)
                         : fdl       ? validate_windows(*t.model, data.val, plan.ds.classes, run)
                                     : validate(*t.model, data.val, plan.ds.classes, plan.dev);
    FDL_CHECK(!validating || std::isfinite(v.loss), "the validation loss became ", v.loss,
              " at epoch ", epoch, "; stopping. ", kept(h.st, dir));
    const EpochRow row{epoch, train.loss, v.loss, v.dice, seconds_since(t_epoch), train.data_wait};
    checkpoint_epoch(dir, names, row, best_score(run, v, h), fdl, t, h);
    bar.line(epoch_line(row, o.run.epochs, names, h.st.best_epoch == epoch, fdl));
  }
  if (fdl)
    std::printf("trained %lld epochs; best smoothed validation Dice %.5f at epoch %lld -> %s\n",
                static_cast<long long>(h.st.epoch), 1 - h.st.best_val_loss,
                static_cast<long long>(h.st.best_epoch),
                run_file(dir, "model.safetensors").c_str());
  else
    std::printf("trained %lld epochs; best validation loss %.5f at epoch %lld -> %s\n",
                static_cast<long long>(h.st.epoch), h.st.best_val_loss,
                static_cast<long long>(h.st.best_epoch),
                run_file(dir, "model.safetensors").c_str());
  TrainResult result{h.st.epoch, h.st.best_epoch, h.st.best_val_loss, {}};
  if (plan.split.test.empty())
    std::printf("no held-out test cases (--test-fraction %g); no test metrics\n",
                plan.record.test_fraction);
  else
    result.test_summary = test_and_report(plan, data, t, dir, h.st.best_epoch);
  return result;
}

}  // namespace fdl::train
