// A whole training step of every model on the GPU against the CPU: the same initial
// weights (base_filters 8, so the deepest convolutions take the 64-column tiles), the same
// dropout stream; forward, soft Dice loss, backward and one Adam step. The loss, every
// parameter's gradient and every weight after Adam must agree.
//
// Bounds, from the arithmetic:
// - FFMA (tiled): the devices differ only in the order of float32 sums, each op ~1e-6
//   normwise; 1e-5 on the loss and on each gradient leaves a factor of ~10.
// - TF32: each convolution alone differs from FP32 by ~3e-4 normwise (the op tests bound it
//   by 5e-3), but a randomly initialised network on random labels amplifies relative errors
//   of its weight gradients ~100-200x through cancellation (the FP32 path shows the same
//   factor on its 1e-7 per-op differences): the emulator measured 6-8e-2. The gradient bound
//   is 0.25 normwise, the loss bound 1e-2; the weights are checked elementwise as below.
//   This amplification is measured, not derived: an open item in docs/gpu.md.
// - The weights after Adam's first step: m = (1 - b1) g and v = (1 - b2) g^2, so the update
//   is -lr g / (|g| + eps) exactly, up to rounding. For two gradients g1, g2 of one element
//   the updates differ by at most 2 lr |g1 - g2| / (max(|g1|, |g2|) + eps): where TF32 flips
//   the sign of a gradient within its error of zero, the weights may differ by 2 lr, and
//   nowhere else. Each weight is checked against that bound from the two measured gradients,
//   plus 4 float32 ulps of |w| + lr for the rounding of the update and of its sum.
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
  opt.base_filters = 8;
  opt.dropout = 0.6;
  Generator init(init_seed);
  auto m = make_model(name, opt, init);
  m->to(d);
  return m;
}

struct Step {
  double loss = 0;
  std::vector<std::pair<std::string, Tensor>> grads, params;  // host copies
  Generator dropout{0};
};

Step train_step(const std::string& name, Device d, uint64_t init_seed, uint64_t drop_seed,
                const Tensor& x, const Tensor& labels) {
  auto m = small_model(name, init_seed, d);
  m->train(true);
  m->dropout_generator() = Generator(drop_seed);
  Adam adam(m->named_parameters());
  const Tensor loss = soft_dice_loss(m->forward(x.to(d)), one_hot(labels.to(d), 2));
  Step out;
  out.loss = loss.item();
  loss.backward();
  for (auto& [pname, p] : m->named_parameters()) out.grads.emplace_back(pname, p.grad().to(Device::CPU));
  adam.step();
  for (auto& [pname, p] : m->named_parameters()) out.params.emplace_back(pname, p.to(Device::CPU));
  out.dropout = m->dropout_generator();
  return out;
}

// Weights after Adam's first step on each device, against the bound of the header comment.
void check_weights(const Tensor& wg, const Tensor& wc, const Tensor& gg, const Tensor& gc,
                   double lr, double eps, const std::string& what) {
  INFO(what);
  const std::vector<double> a = wg.to_vector(), b = wc.to_vector(), ga = gg.to_vector(),
                            gb = gc.to_vector();
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    const double dg = std::fabs(ga[i] - gb[i]), gmax = std::max(std::fabs(ga[i]), std::fabs(gb[i]));
    const double bound = 2 * lr * dg / (gmax + eps) + 4 * std::ldexp(std::fabs(b[i]) + lr, -23);
    if (!(std::fabs(a[i] - b[i]) <= bound) && bad++ == 0) first = int64_t(i);
  }
  CHECK_MESSAGE(bad == 0, bad, " weights differ by more than their gradients explain, the first at ",
                first);
}

void check_training(ConvAlgo algo, double loss_tol, double grad_tol) {
  FDL_GPU_RNG(rng);
  ConvSettings settings(algo);
  const Tensor x = rng.normal({2, 1, 16, 16, 8});
  const Tensor labels = rng.labels({2, 16, 16, 8}, 2);
  const uint64_t init_seed = rng.seed() ^ 0x5eed, drop_seed = rng.seed() + 1;
  const AdamOptions adam;
  for (const std::string& name : model_names()) {
    CAPTURE(name);
    const Step c = train_step(name, Device::CPU, init_seed, drop_seed, x, labels);
    const Step g = train_step(name, Device::CUDA, init_seed, drop_seed, x, labels);
    CHECK(std::isfinite(g.loss));
    CHECK_MESSAGE(std::fabs(g.loss - c.loss) <= loss_tol * std::fabs(c.loss), "loss ", g.loss, " vs ",
                  c.loss);
    CHECK(g.dropout.seed == c.dropout.seed);
    CHECK(g.dropout.offset == c.dropout.offset);
    REQUIRE(g.params.size() == c.params.size());
    for (size_t i = 0; i < c.params.size(); ++i) {
      const std::string& pname = c.params[i].first;
      CHECK(g.params[i].first == pname);
      const test::Agreement e = test::agreement(g.grads[i].second, c.grads[i].second);
      CHECK_MESSAGE(e.bad_elements == 0, pname, ": gradient finite on one side only");
      CHECK_MESSAGE(e.rel_error <= grad_tol, pname, ": gradient normwise relative error ", e.rel_error);
      check_weights(g.params[i].second, c.params[i].second, g.grads[i].second, c.grads[i].second,
                    adam.lr, adam.eps, pname);
    }
  }
}

}  // namespace

TEST_CASE("gpu models: a training step matches the cpu (fp32, tiled convolution)") {
  check_training(ConvAlgo::Tiled, 1e-5, 1e-5);
}

TEST_CASE("gpu models: a training step matches the cpu (tf32 convolution)") {
  check_training(ConvAlgo::Tf32, 1e-2, 0.25);
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
