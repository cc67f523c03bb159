// Whole training steps of every model on the GPU against the CPU: the same initial weights,
// the same dropout stream, three steps of forward, soft Dice loss, backward, Adam and
// zero_grad; then the losses of each step and every parameter must agree.
//
// Tolerances. With the exact FFMA convolution (tiled) the two devices differ only in the
// order of float32 sums, a normwise 1e-6 or so per op; through three steps that stays far
// below the bounds chosen, 1e-5 on each loss and 1e-4 (the brief's bound) on each parameter
// tensor. Adam magnifies one thing: its first step moves every weight by +-lr whatever the
// gradient's size, so a weight whose gradient is within rounding of zero may move the other
// way on the other device. With FFMA that needs a gradient ~1e-6 of the typical one: rare.
// With TF32 the gradients carry ~1e-3 relative error, so about one weight in a thousand may
// flip (each worth 2 lr): the bound is 5e-3 on each loss and 2e-2 on all parameters taken
// together (per tensor, a flip in a 1x1 head of 8 weights alone would exceed it). These TF32
// bounds are estimates; the first GPU run should confirm them.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/allocator.h"
#include "engine/autograd.h"
#include "engine/ops/dice.h"
#include "engine/ops/one_hot.h"
#include "engine/optim/adam.h"
#include "models/seg_model.h"
#include "tests/gpu/harness.h"
#include "tests/support.h"

using namespace fdl;
using namespace fdl::gpu_test;

namespace {

std::shared_ptr<SegModel> small_model(const std::string& name, uint64_t init_seed, Device d) {
  ModelOptions opt;
  opt.base_filters = 4;
  opt.dropout = 0.6;
  Generator init(init_seed);
  auto m = make_model(name, opt, init);
  m->to(d);
  return m;
}

struct Trained {
  std::vector<double> losses;
  std::vector<std::pair<std::string, Tensor>> params;
  Generator dropout{0};
};

Trained train_steps(const std::string& name, Device d, uint64_t init_seed, uint64_t drop_seed,
                    const Tensor& x, const Tensor& labels, int steps) {
  auto m = small_model(name, init_seed, d);
  m->train(true);
  m->dropout_generator() = Generator(drop_seed);
  Adam adam(m->named_parameters());
  const Tensor xd = x.to(d), target = one_hot(labels.to(d), 2);
  Trained out;
  for (int s = 0; s < steps; ++s) {
    const Tensor loss = soft_dice_loss(m->forward(xd), target);
    out.losses.push_back(loss.item());
    loss.backward();
    adam.step();
    adam.zero_grad();
  }
  out.params = m->named_parameters();
  out.dropout = m->dropout_generator();
  return out;
}

// All of a model's parameters as one host vector.
Tensor flat(const std::vector<std::pair<std::string, Tensor>>& params) {
  std::vector<double> v;
  for (auto& [name, p] : params) {
    const std::vector<double> e = p.to_vector();
    v.insert(v.end(), e.begin(), e.end());
  }
  return Tensor::from_vector(v, {int64_t(v.size())});
}

void check_training(ConvAlgo algo, double loss_tol, double param_tol, bool per_tensor) {
  FDL_GPU_RNG(rng);
  ConvSettings settings(algo);
  const Tensor x = rng.normal({2, 1, 16, 16, 8});
  const Tensor labels = rng.labels({2, 16, 16, 8}, 2);
  const uint64_t init_seed = rng.seed() ^ 0x5eed, drop_seed = rng.seed() + 1;
  for (const std::string& name : model_names()) {
    CAPTURE(name);
    const Trained c = train_steps(name, Device::CPU, init_seed, drop_seed, x, labels, 3);
    const Trained g = train_steps(name, Device::CUDA, init_seed, drop_seed, x, labels, 3);
    REQUIRE(g.losses.size() == c.losses.size());
    for (size_t s = 0; s < c.losses.size(); ++s) {
      CAPTURE(s);
      CHECK(std::isfinite(g.losses[s]));
      CHECK(g.losses[s] == doctest::Approx(c.losses[s]).epsilon(loss_tol).scale(0));
    }
    CHECK(g.dropout.seed == c.dropout.seed);
    CHECK(g.dropout.offset == c.dropout.offset);
    REQUIRE(g.params.size() == c.params.size());
    for (size_t i = 0; i < c.params.size(); ++i) {
      CHECK(g.params[i].first == c.params[i].first);
      CHECK(g.params[i].second.device() == Device::CUDA);
      if (per_tensor)
        check_agree(g.params[i].second, c.params[i].second, param_tol, c.params[i].first);
    }
    const test::Agreement all = test::agreement(flat(g.params), flat(c.params));
    CHECK(all.bad_elements == 0);
    CHECK_MESSAGE(all.rel_error <= param_tol, "all parameters: normwise relative error ",
                  all.rel_error);
  }
}

}  // namespace

TEST_CASE("gpu models: three training steps match the cpu (fp32, tiled convolution)") {
  check_training(ConvAlgo::Tiled, 1e-5, 1e-4, true);
}

TEST_CASE("gpu models: three training steps match the cpu (tf32 convolution)") {
  check_training(ConvAlgo::Tf32, 5e-3, 2e-2, false);
}

TEST_CASE("gpu models: a no_grad forward keeps nothing for backward") {
  FDL_GPU_RNG(rng);
  Allocator& cuda = Allocator::get(Device::CUDA);
  const Tensor x = rng.normal({2, 1, 16, 16, 8}).to(Device::CUDA);
  for (const std::string& name : model_names()) {
    CAPTURE(name);
    auto m = small_model(name, rng.seed(), Device::CUDA);
    m->train(false);
    {
      autograd::NoGrad no_grad;
      m->forward(x);  // warm-up: lazily made plans and caches stay
    }
    const size_t base = cuda.stats().in_use;
    size_t held = 0, one_block = 0;
    {
      autograd::NoGrad no_grad;
      const Tensor out = m->forward(x);
      held = cuda.stats().in_use - base;
      const Tensor probe = Tensor::empty(out.shape(), out.dtype(), Device::CUDA);
      one_block = cuda.stats().in_use - base - held;
    }
    CHECK_MESSAGE(held == one_block, "while the output lives ", held,
                  " bytes are in use; the output's block alone is ", one_block);
    CHECK(cuda.stats().in_use == base);
    // With autograd on the same forward keeps its activations: the measure can tell.
    {
      const Tensor out = m->forward(x);
      CHECK(cuda.stats().in_use - base > held);
    }
    CHECK(cuda.stats().in_use == base);
  }
}
