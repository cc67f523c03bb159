#pragma once
// The fdl recipe's training batches (docs/method.md §5.5), prepared by worker threads while
// the training step runs. Each sample is a pure function of (seed, epoch, case): the patch
// draw and the augmentation use their own Philox streams keyed by those three, so batches are
// the same with any number of workers, in any order, and after a resume.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/data/augment.h"
#include "engine/data/patch.h"
#include "models/seg_model.h"

namespace fdl::train {

// A training case at the run's spacing, normalised, and where its labelled voxels are.
struct PatchCase {
  Sample sample;
  ForegroundIndex fg;
};

struct PatchSource {
  const std::vector<PatchCase>* cases = nullptr;
  const SegModel* model = nullptr;  // its input_streams
  int classes = 2;
  Index3 patch{};
  double foreground_fraction = 0.33;
  std::optional<AugmentOptions> augment;  // none: no augmentation
  uint64_t patch_seed = 0, augment_seed = 0;
};

// One sample's network input streams, each (1, C_s, px, py, pz), and its label (px, py, pz).
// Models whose streams are local (unet3d) crop a region that covers the patch's augmented
// footprint (the bounding box of A times the patch), augment it and keep the centre: the
// same voxels as augmenting the whole volume, at the cost of the patch. The FD models augment
// the whole volume and split it into its streams before the patch is cut (§2.5); their patch
// is drawn on the augmented label, so foreground patches stay on the foreground.
struct PatchSample {
  std::vector<Tensor> streams;
  Tensor label;
};
PatchSample prepare_patch(const PatchSource& src, int64_t epoch, int case_index);

// The epoch's batches in order: `order` (the epoch's permutation of the cases) cut into
// batches of `batch`, the last one shorter. Workers keep at most two batches ahead.
class PatchLoader {
 public:
  PatchLoader(const PatchSource& src, int64_t epoch, std::vector<int> order, int batch,
              int workers);
  ~PatchLoader();  // stops and joins the workers
  PatchLoader(const PatchLoader&) = delete;
  PatchLoader& operator=(const PatchLoader&) = delete;

  // The next batch: streams (N, C_s, px, py, pz) and labels (N, px, py, pz). Blocks until its
  // samples are ready, adding the wait to wait_seconds(). A worker's fdl::Error is rethrown here.
  PatchSample next();
  double wait_seconds() const { return wait_; }

 private:
  void work();

  const PatchSource src_;
  const int64_t epoch_;
  const std::vector<int> order_;
  const size_t batch_;
  std::vector<std::optional<PatchSample>> ready_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t claimed_ = 0, consumed_ = 0;  // samples handed to workers, and to the caller
  bool stop_ = false;
  std::exception_ptr error_;
  double wait_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace fdl::train
