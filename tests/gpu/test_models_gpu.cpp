// A whole training step of every model on the GPU against the CPU: the same initial
// weights (base_filters 8, so the deepest convolutions take the 64-column tiles), the same
// dropout stream; forward, soft Dice loss, backward and one Adam step. The loss, every
// parameter's gradient and every weight after Adam must agree, and on the emulator every
// schedule order must give the same bits.
//
// Bounds, from the arithmetic:
// - A step is piecewise smooth: a leaky ReLU's slope jumps from 1 to 0.01 at zero. Where a
//   pre-activation lies within the devices' rounding difference of zero, they may put it on
//   different sides (a "flip"); that voxel's backpropagated gradient then changes by ~99%,
//   which moves every gradient upstream by ~1/sqrt(voxels) (16x16x8x2 = 4096: ~2-3%). The
//   activation tap shows both devices' activations, so the test counts flips and checks that
//   each lies within the rounding difference of the kink (1e-4 of its layer's rms in fp32,
//   3e-2 in TF32), which a wrong kernel would not respect.
// - FFMA (tiled): away from flips the devices differ only in the order of float32 sums, each
//   op ~1e-6 normwise; 1e-5 on the loss and on each gradient. About one draw in eight has a
//   flip (~250k unit-variance activations, each within ~1e-6 of zero with probability
//   ~1e-6 x 0.8); such a draw is redrawn, up to four times, and its gradients are not compared.
// - TF32: each convolution alone differs from FP32 by ~3e-4 normwise, so ~100 activations
//   flip per step (measured 74-109) and the gradients differ by ~sqrt(100 / 4096) = 0.16 by
//   the estimate above (measured 0.04-0.12). The gradient bound is 0.25 normwise, the loss
//   bound 1e-2 (the loss is continuous at the kinks); the weights are checked as below.
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
#include "engine/ops/activation_tap.h"
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

constexpr double kSlope = 0.01;  // the models' leaky ReLU

struct Tolerances {
  double loss, grad;  // relative; the gradient's normwise
  double kink;        // the largest |pre-activation| / rms of a flipped activation
};
constexpr Tolerances kFp32Step{1e-5, 1e-5, 1e-4};
constexpr Tolerances kTf32Step{1e-2, 0.25, 3e-2};
constexpr int kDraws = 4;

struct Step {
  double loss = 0;
  std::vector<std::pair<std::string, Tensor>> grads, params;  // host copies
  std::vector<Tensor> activations;  // every leaky ReLU output of the forward, host copies
  Generator dropout{0};
};

Step train_step(const std::string& name, Device d, uint64_t init_seed, uint64_t drop_seed,
                const Tensor& x, const Tensor& labels) {
  auto m = small_model(name, init_seed, d);
  m->train(true);
  m->dropout_generator() = Generator(drop_seed);
  Adam adam(m->named_parameters());
  Step out;
  set_activation_tap([&out](const Tensor& y) { out.activations.push_back(y.to(Device::CPU)); });
  const Tensor logits = m->forward(x.to(d));
  set_activation_tap({});
  const Tensor loss = soft_dice_loss(logits, one_hot(labels.to(d), 2));
  out.loss = loss.item();
  loss.backward();
  for (auto& [pname, p] : m->named_parameters())
    out.grads.emplace_back(pname, p.grad().to(Device::CPU));
  adam.step();
  for (auto& [pname, p] : m->named_parameters()) out.params.emplace_back(pname, p.to(Device::CPU));
  out.dropout = m->dropout_generator();
  return out;
}

// Activations on opposite sides of the leaky ReLU's kink on the two devices, and the largest
// |pre-activation| among them relative to its layer's rms.
struct Flips {
  int64_t count = 0;
  double worst = 0;
};

Flips kink_flips(const Step& g, const Step& c, double slope) {
  Flips f;
  REQUIRE(g.activations.size() == c.activations.size());
  for (size_t l = 0; l < c.activations.size(); ++l) {
    const std::vector<double> a = g.activations[l].to_vector(), b = c.activations[l].to_vector();
    REQUIRE(a.size() == b.size());
    double ss = 0;
    for (double y : b) ss += (y > 0 ? y : y / slope) * (y > 0 ? y : y / slope);
    const double rms = std::sqrt(ss / double(b.size()));
    for (size_t i = 0; i < b.size(); ++i)
      if ((a[i] > 0) != (b[i] > 0)) {
        ++f.count;
        f.worst = std::max(f.worst, std::fabs(b[i] > 0 ? b[i] : b[i] / slope) / rms);
      }
  }
  return f;
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
  CHECK_MESSAGE(bad == 0, bad,
                " weights differ by more than their gradients explain, the first at ", first);
}

// One training step of `name` on both devices (the GPU in every schedule order), from inputs
// and weights drawn from `rng`. Returns the kink flips between the devices; when there are
// none, or when `flips_allowed`, checks the step against the CPU.
Flips check_step(const std::string& name, Rng& rng, int draw, const Tolerances& tol,
                 bool flips_allowed) {
  const Tensor x = rng.normal({2, 1, 16, 16, 8});
  const Tensor labels = rng.labels({2, 16, 16, 8}, 2);
  const uint64_t init_seed = rng.seed() ^ uint64_t(0x5eed + draw), drop_seed = init_seed + 1;
  const AdamOptions adam;
  const Step c = train_step(name, Device::CPU, init_seed, drop_seed, x, labels);
  Step g;
  std::string first_order;
  for_each_order(rng.seed(), [&](const std::string& order) {
    Step s = train_step(name, Device::CUDA, init_seed, drop_seed, x, labels);
    if (first_order.empty()) {
      first_order = order;
      g = std::move(s);
      return;
    }
    CHECK_MESSAGE(s.loss == g.loss, "loss under the ", order, " schedule");
    for (size_t i = 0; i < g.params.size(); ++i) {
      const std::string& pname = g.params[i].first;
      check_same_across_orders(s.grads[i].second, g.grads[i].second, 0, order, first_order,
                               pname + ": gradient");
      check_same_across_orders(s.params[i].second, g.params[i].second, 0, order, first_order,
                               pname + ": weight after Adam");
    }
  });
  const Flips flips = kink_flips(g, c, kSlope);
  INFO(flips.count, " activations change sides of the kink, the farthest at ", flips.worst,
       " of its layer's rms");
  CHECK(flips.worst <= tol.kink);
  CHECK(std::isfinite(g.loss));
  CHECK_MESSAGE(std::fabs(g.loss - c.loss) <= tol.loss * std::fabs(c.loss), "loss ", g.loss, " vs ",
                c.loss);
  CHECK(g.dropout.seed == c.dropout.seed);
  CHECK(g.dropout.offset == c.dropout.offset);
  REQUIRE(g.params.size() == c.params.size());
  for (size_t i = 0; i < c.params.size(); ++i) {
    const std::string& pname = c.params[i].first;
    CHECK(g.params[i].first == pname);
    check_weights(g.params[i].second, c.params[i].second, g.grads[i].second, c.grads[i].second,
                  adam.lr, adam.eps, pname);
    if (flips.count > 0 && !flips_allowed) continue;
    const test::Agreement e = test::agreement(g.grads[i].second, c.grads[i].second);
    CHECK_MESSAGE(e.bad_elements == 0, pname, ": gradient finite on one side only");
    CHECK_MESSAGE(e.rel_error <= tol.grad, pname, ": gradient normwise relative error ",
                  e.rel_error);
  }
  return flips;
}

}  // namespace

TEST_CASE("gpu models: a training step matches the cpu (fp32, tiled convolution)") {
  FDL_GPU_RNG(rng);
  ConvSettings settings(ConvAlgo::Tiled);
  for (const std::string& name : model_names()) {
    CAPTURE(name);
    // A draw with a kink flip says nothing about the gradients' agreement: draw again.
    Flips f;
    for (int draw = 0; draw < kDraws && (draw == 0 || f.count > 0); ++draw)
      f = check_step(name, rng, draw, kFp32Step, false);
    CHECK_MESSAGE(f.count == 0, kDraws, " draws all put an activation on the other side of a kink");
  }
}

TEST_CASE("gpu models: a training step matches the cpu (tf32 convolution)") {
  FDL_GPU_RNG(rng);
  ConvSettings settings(ConvAlgo::Tf32);
  for (const std::string& name : model_names()) {
    CAPTURE(name);
    check_step(name, rng, 0, kTf32Step, true);
  }
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
