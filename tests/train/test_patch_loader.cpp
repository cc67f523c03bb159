// The fdl recipe's loader (train/patch_loader.h): samples are a pure function of (seed, epoch,
// case) whatever the number of workers; unet3d's patch-sized augmentation gives what
// augmenting the whole volume gives; the FD models' streams are split from the whole volume.
#include <doctest/doctest.h>

#include <cstring>
#include <set>

#include "engine/random.h"
#include "models/seg_model.h"
#include "tests/support.h"
#include "train/patch_loader.h"

using namespace fdl;
using namespace fdl::train;

namespace {

// Three cases of (1, 24, 20, 16): a random image, a ball of class 1 and a block of class 2.
std::vector<PatchCase> cases() {
  std::vector<PatchCase> out;
  for (int c = 0; c < 3; ++c) {
    Generator g(uint64_t(11 + c));
    Sample s{"case" + std::to_string(c), rand_uniform({1, 24, 20, 16}, 0, 1, g),
             Tensor::zeros({24, 20, 16}, DType::I32)};
    int32_t* l = s.label.data<int32_t>();
    for (int64_t i = 0; i < 24; ++i)
      for (int64_t j = 0; j < 20; ++j)
        for (int64_t k = 0; k < 16; ++k) {
          const int64_t di = i - 8 - c, dj = j - 10, dk = k - 8;
          if (di * di + dj * dj + dk * dk <= 16) l[(i * 20 + j) * 16 + k] = 1;
          if (i >= 18 && i < 21 && j >= 3 && j < 6 && k >= 10 && k < 13)
            l[(i * 20 + j) * 16 + k] = 2;
        }
    ForegroundIndex fg = index_foreground(s.label, 3);
    out.push_back({std::move(s), std::move(fg)});
  }
  return out;
}

std::shared_ptr<SegModel> model(const std::string& name) {
  ModelOptions o;
  o.classes = 3;
  o.base_filters = 2;
  o.beta = {0.25, 0.25, 0.25};  // a spectral block of at least one voxel on an 8^3 patch
  Generator init(1);
  return make_model(name, o, init);
}

std::string bytes(const Tensor& t) {
  return std::string(static_cast<const char*>(t.raw()), t.nbytes());
}

// Spatial transforms only, each drawn: no intensity transform that depends on the crop.
AugmentOptions spatial() {
  AugmentOptions o;
  o.rotation.p = o.scaling.p = 1;
  o.mirror = 0.5;
  o.noise.p = o.blur.p = o.brightness.p = o.contrast.p = o.low_res.p = o.gamma_inverted.p =
      o.gamma.p = 0;
  return o;
}

}  // namespace

TEST_CASE("patch loader: batches are the same with 1 or 3 workers, and from prepare_patch alone") {
  const std::vector<PatchCase> data = cases();
  for (const std::string name : {"unet3d", "fd-early"}) {
    CAPTURE(name);
    const auto m = model(name);
    PatchSource src{&data, m.get(), 3, {8, 8, 8}, 0.5, AugmentOptions(), 7, 9};
    const std::vector<int> order{2, 0, 1};
    std::vector<std::string> first;
    for (int workers : {1, 3}) {
      PatchLoader loader(src, 4, order, 2, workers);
      std::vector<std::string> got;
      for (int b = 0; b < 2; ++b) {
        const PatchSample s = loader.next();
        CHECK(s.label.size(0) == (b == 0 ? 2 : 1));
        for (const Tensor& t : s.streams) got.push_back(bytes(t));
        got.push_back(bytes(s.label));
      }
      CHECK_THROWS_AS(loader.next(), Error);  // the epoch is over
      if (first.empty()) first = got;
      CHECK(got == first);
    }
    const PatchSample alone = prepare_patch(src, 4, 2);  // the first sample of the first batch
    CHECK(bytes(alone.label) ==
          first[alone.streams.size()].substr(0, size_t(alone.label.nbytes())));
    CHECK(bytes(prepare_patch(src, 5, 2).label) !=
          bytes(alone.label));  // another epoch, another patch
  }
}

TEST_CASE("patch loader: foreground patches hold a labelled voxel; no class is invented") {
  const std::vector<PatchCase> data = cases();
  const auto m = model("unet3d");
  PatchSource src{&data, m.get(), 3, {8, 8, 8}, 1.0, std::nullopt, 3, 4};
  for (int e = 0; e < 20; ++e) {
    const PatchSample s = prepare_patch(src, e, e % 3);
    const int32_t* l = s.label.data<int32_t>();
    CHECK(std::count_if(l, l + s.label.numel(), [](int32_t v) { return v > 0; }) > 0);
  }
  src.augment = AugmentOptions();
  src.augment->rotation.p = 1;
  for (int e = 0; e < 10; ++e) {
    const PatchSample s = prepare_patch(src, e, 2);
    const int32_t* l = s.label.data<int32_t>();
    const std::set<int32_t> classes(l, l + s.label.numel());
    CHECK(*classes.rbegin() <= 2);
    CHECK(*classes.begin() >= 0);
  }
}

TEST_CASE("patch loader: unet3d's patch-sized augmentation equals augmenting the whole volume") {
  // Augmenting a volume centred on the patch and keeping its centre is what the loader does
  // with a region the size of the patch's footprint: the same, unless the footprint is short.
  const std::vector<PatchCase> data = cases();
  const auto m = model("unet3d");
  const Index3 n{24, 20, 16}, p{4, 4, 4}, inner{10, 8, 6};  // (n - p) / 2
  PatchSource src{&data, m.get(), 3, p, 0.0, spatial(), 3, 21};
  for (int e = 0; e < 6; ++e) {
    CAPTURE(e);
    const PatchSample got = prepare_patch(src, e, 1);
    const Index3 at = draw_patch(data[1].fg, p, 0.0, item_key(3, e, 1)).start;
    const Index3 from{at[0] - inner[0], at[1] - inner[1], at[2] - inner[2]};
    const Sample centred{"c", crop_pad(data[1].sample.image, from, n),
                         crop_pad(data[1].sample.label, from, n)};
    const Sample whole = augment(centred, *src.augment, 21, e, 1);
    const Tensor image = crop_pad(whole.image, inner, p), label = crop_pad(whole.label, inner, p);
    const test::Agreement a = test::agreement(got.streams[0].reshape(image.shape()), image);
    CHECK(a.rel_error <= 1e-5);
    CHECK(a.bad_elements == 0);
    const int32_t* g = got.label.data<int32_t>();
    const int32_t* w = label.data<int32_t>();
    int64_t differ = 0;
    for (int64_t i = 0; i < label.numel(); ++i) differ += g[i] != w[i];
    CHECK(differ <= 1);  // a tie of the label rule, at rounding
  }
}

TEST_CASE("patch loader: the FD models' streams are cut from the split of the whole volume") {
  const std::vector<PatchCase> data = cases();
  const auto m = model("fd-early");
  PatchSource src{&data, m.get(), 3, {8, 8, 8}, 0.0, std::nullopt, 3, 4};
  const PatchSample s = prepare_patch(src, 0, 0);
  REQUIRE(s.streams.size() == 2);
  // The streams of the whole volume, and where the patch sits in it (found by its label and low
  // stream).
  const std::vector<Tensor> whole =
      m->input_streams(data[0].sample.image.reshape({1, 1, 24, 20, 16}));
  bool found = false;
  for (int64_t i = 0; i + 8 <= 24 && !found; ++i)
    for (int64_t j = 0; j + 8 <= 20 && !found; ++j)
      for (int64_t k = 0; k + 8 <= 16 && !found; ++k) {
        if (bytes(crop_pad(whole[1], {i, j, k}, {8, 8, 8})) != bytes(s.streams[1])) continue;
        found = true;
        CHECK(bytes(crop_pad(whole[0], {i, j, k}, {8, 8, 8})) == bytes(s.streams[0]));
        CHECK(bytes(crop_pad(data[0].sample.label, {i, j, k}, {8, 8, 8})) == bytes(s.label));
        // The split of the patch alone differs: its frequencies are the patch's.
        const Tensor own = m->input_streams(
            crop_pad(data[0].sample.image, {i, j, k}, {8, 8, 8}).reshape({1, 1, 8, 8, 8}))[1];
        CHECK(bytes(own) != bytes(s.streams[1]));
      }
  CHECK(found);
}
