#include "train/patch_loader.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include "engine/autograd.h"
#include "engine/random.h"
#include "kernels/common/error.h"

namespace fdl::train {

namespace {

Tensor with_batch_axis(const Tensor& x) {  // (C, X, Y, Z) -> (1, C, X, Y, Z)
  return x.reshape({1, x.size(0), x.size(1), x.size(2), x.size(3)});
}

// The region whose augmentation gives the patch at its centre: every voxel the patch's
// outputs read (|A| times the patch, plus the elastic displacement and one voxel for the
// trilinear corners), with the same parity as the patch so that the centres coincide.
Index3 footprint(const AugmentPlan& plan, Index3 patch) {
  const auto a = spatial_matrix(plan);
  Index3 big{};
  for (size_t i = 0; i < 3; ++i) {
    double reach = 0, row = 0;
    for (size_t j = 0; j < 3; ++j) {
      reach += std::abs(a[i][j]) * double(patch[j]);
      row += std::abs(a[i][j]);
    }
    reach += 2 * row * 3 * plan.elastic_sigma + 2;
    big[i] = std::max(patch[i], int64_t(std::ceil(reach)));
    big[i] += (big[i] - patch[i]) % 2;
  }
  return big;
}

PatchSample local_patch(const PatchSource& src, const PatchCase& c, int64_t epoch, int case_index,
                        const PatchDraw& d) {
  const Index3 p = src.patch;
  if (!src.augment)
    return {{with_batch_axis(crop_pad(c.sample.image, d.start, p))},
            crop_pad(c.sample.label, d.start, p)};
  const AugmentPlan plan =
      plan_augment(*src.augment, c.sample.image.size(0), src.augment_seed, epoch, case_index);
  const Index3 big = footprint(plan, p);
  Index3 at{}, inner{};
  for (size_t a = 0; a < 3; ++a) {
    inner[a] = (big[a] - p[a]) / 2;
    at[a] = d.start[a] - inner[a];
  }
  const Sample region{c.sample.id, crop_pad(c.sample.image, at, big),
                      crop_pad(c.sample.label, at, big)};
  const Sample out = apply_augment(region, plan);
  return {{with_batch_axis(crop_pad(out.image, inner, p))}, crop_pad(out.label, inner, p)};
}

PatchSample whole_volume_patch(const PatchSource& src, const PatchCase& c, int64_t epoch,
                               int case_index, uint64_t key) {
  const Sample s =
      src.augment ? augment(c.sample, *src.augment, src.augment_seed, epoch, case_index) : c.sample;
  const PatchDraw d = draw_patch(src.augment ? index_foreground(s.label, src.classes) : c.fg,
                                 src.patch, src.foreground_fraction, key);
  PatchSample out;
  for (const Tensor& stream : src.model->input_streams(with_batch_axis(s.image)))
    out.streams.push_back(crop_pad(stream.to(Device::CPU), d.start, src.patch));
  out.label = crop_pad(s.label, d.start, src.patch);
  return out;
}

// Samples [begin, end) of `ready` stacked along a new first axis.
PatchSample stack(std::vector<std::optional<PatchSample>>& ready, size_t begin, size_t end) {
  const PatchSample& first = *ready[begin];
  const int64_t n = int64_t(end - begin);
  PatchSample out;
  for (const Tensor& s : first.streams) {
    Shape shape = s.shape();
    shape[0] = n;
    out.streams.push_back(Tensor::empty(shape));
  }
  const Shape& l = first.label.shape();
  out.label = Tensor::empty({n, l[0], l[1], l[2]}, DType::I32);
  for (size_t b = begin; b < end; ++b) {
    const PatchSample& s = *ready[b];
    for (size_t k = 0; k < s.streams.size(); ++k)
      std::memcpy(static_cast<char*>(out.streams[k].raw()) + (b - begin) * s.streams[k].nbytes(),
                  s.streams[k].raw(), s.streams[k].nbytes());
    std::memcpy(static_cast<char*>(out.label.raw()) + (b - begin) * s.label.nbytes(), s.label.raw(),
                s.label.nbytes());
    ready[b].reset();  // the batch holds the only copy now
  }
  return out;
}

}  // namespace

PatchSample prepare_patch(const PatchSource& src, int64_t epoch, int case_index) {
  autograd::NoGrad no_grad;
  const PatchCase& c = src.cases->at(size_t(case_index));
  const uint64_t key = item_key(src.patch_seed, epoch, case_index);
  if (src.model->streams_are_local())
    return local_patch(src, c, epoch, case_index,
                       draw_patch(c.fg, src.patch, src.foreground_fraction, key));
  return whole_volume_patch(src, c, epoch, case_index, key);
}

PatchLoader::PatchLoader(const PatchSource& src, int64_t epoch, std::vector<int> order, int batch,
                         int workers)
    : src_(src),
      epoch_(epoch),
      order_(std::move(order)),
      batch_(size_t(batch)),
      ready_(order_.size()) {
  for (int w = 0; w < workers; ++w) workers_.emplace_back([this] { work(); });
}

PatchLoader::~PatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void PatchLoader::work() {
  for (;;) {
    size_t slot;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // At most two batches past the one the caller waits for.
      cv_.wait(lock, [&] {
        return stop_ || error_ || claimed_ >= order_.size() || claimed_ < consumed_ + 3 * batch_;
      });
      if (stop_ || error_ || claimed_ >= order_.size()) return;
      slot = claimed_++;
    }
    try {
      PatchSample s = prepare_patch(src_, epoch_, order_[slot]);
      std::lock_guard<std::mutex> lock(mu_);
      ready_[slot] = std::move(s);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      error_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

PatchSample PatchLoader::next() {
  const size_t begin = consumed_, end = std::min(order_.size(), begin + batch_);
  FDL_CHECK(begin < end, "patch loader: the epoch has no batch left");
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] {
    if (error_) return true;
    for (size_t i = begin; i < end; ++i)
      if (!ready_[i]) return false;
    return true;
  });
  if (error_) std::rethrow_exception(error_);
  wait_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  PatchSample batch = stack(ready_, begin, end);
  consumed_ = end;
  lock.unlock();
  cv_.notify_all();
  return batch;
}

}  // namespace fdl::train
