// What the op table (test_op_cases_gpu.cpp) cannot check on the GPU: dropout's generator,
// one_hot's error, dice_per_class (host values), tensors across devices, the debug allocator
// and Adam, each against the CPU with the allocator poisoning blocks and guarding their ends
// (tests/gpu/harness.h). conv3d's algorithms have their own file, test_conv_gpu.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/allocator.h"
#include "engine/device.h"
#include "engine/ops/dice.h"
#include "engine/ops/dice_ce.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/one_hot.h"
#include "engine/optim/adam.h"
#include "engine/optim/sgd.h"
#include "tests/gpu/harness.h"
#include "tests/support.h"

using namespace fdl;
using namespace fdl::gpu_test;

namespace {

const Shape kSmall{1, 3, 7, 5, 9};
const Shape kOdd{2, 5, 11, 6, 13};
const DType kFloats[] = {DType::F32, DType::F64};

Tensor grad_leaf(Tensor t) { return t.set_requires_grad(true); }

bool bit_equal(const Tensor& a, const Tensor& b) { return a.to_vector() == b.to_vector(); }

// a - b, computed on the host (so a GPU op under test does not judge itself).
Tensor host_minus(const Tensor& a, const Tensor& b) {
  std::vector<double> d = a.to_vector();
  const std::vector<double> e = b.to_vector();
  for (size_t i = 0; i < d.size(); ++i) d[i] -= e[i];
  return Tensor::from_vector(d, a.shape());
}

}  // namespace

TEST_CASE("gpu ops: dropout3d draws the same mask and advances the generator alike") {
  FDL_GPU_RNG(rng);
  for (DType t : kFloats)
    for (const Shape& s : {kOdd, Shape{4, 37, 3, 3, 3}})
      for (double p : {0.3, 0.6}) {
        CAPTURE(dtype_name(t));
        CAPTURE(s.str());
        CAPTURE(p);
        const uint64_t seed = rng.generator().seed + 17;
        Generator gc(seed), gg(seed);
        gc.offset = gg.offset = 5;
        // The GPU side runs once per schedule order, each time from the generator's state
        // before the call, as the CPU side runs once.
        Generator before = gc;
        const Op cpu_op = [&](const std::vector<Tensor>& x) {
          return dropout3d(x[0], p, true, gc);
        };
        const Op gpu_op = [&](const std::vector<Tensor>& x) {
          gg = before;
          return dropout3d(x[0], p, true, gg);
        };
        const Tensor x = grad_leaf(rng.normal(s, t));
        for (int call = 0; call < 2; ++call) {  // the second call draws a fresh mask
          CAPTURE(call);
          before = gg;
          const OpRun r = check_op("dropout3d", cpu_op, gpu_op, {x}, tol_for(t), rng);
          CHECK(gg.offset == gc.offset);
          CHECK(gg.seed == gc.seed);
          // The same channels dropped: exact zeros in the same places.
          const std::vector<double> yc = r.out.cpu.to_vector(), yg = r.out.gpu.to_vector();
          int64_t differ = 0;
          for (size_t i = 0; i < yc.size(); ++i) differ += (yc[i] == 0) != (yg[i] == 0);
          CHECK(differ == 0);
        }
        CHECK(gc.offset == 5 + 2 * ((uint64_t(s[0] * s[1]) + 3) / 4));
        // Not training: x itself, and the generator untouched.
        const Tensor xg = x.to(Device::CUDA);
        CHECK(dropout3d(xg, p, false, gg).same(xg));
        CHECK(gg.offset == gc.offset);
      }
}

TEST_CASE("gpu ops: one_hot's bad-label error names the value and leaves the device usable") {
  FDL_GPU_RNG(rng);
  for (int bad : {4242, -17, 3}) {  // 3 = K: just past the end
    CAPTURE(bad);
    Tensor labels = rng.labels({2, 11, 6, 13}, 3);
    labels.data<int32_t>()[1234] = bad;
    const Tensor lg = labels.to(Device::CUDA);
    bool threw = false;
    try {
      one_hot(lg, 3);
    } catch (const Error& e) {
      threw = true;
      const std::string msg = e.what();
      CHECK_MESSAGE(msg.find("one_hot") != std::string::npos, "message: ", msg);
      if (bad != 3)  // "3" is in any message about 3 classes
        CHECK_MESSAGE(msg.find(std::to_string(bad)) != std::string::npos, "message: ", msg);
    }
    CHECK(threw);
    // The error left the device usable (no trap, no sticky error).
    check_op(
        "one_hot after an error", [](auto& x) { return one_hot(x[0], 3); },
        {rng.labels({1, 7, 5, 9}, 3)}, 0.0, rng);
  }
}

TEST_CASE("gpu ops: dice_per_class") {
  FDL_GPU_RNG(rng);
  for (DType t : kFloats)
    for (int k : {2, 3}) {
      CAPTURE(dtype_name(t));
      CAPTURE(k);
      for (const Shape& s : {Shape{2, 11, 6, 13}, Shape{1, 7, 5, 9}})
        for (bool absent : {false, true}) {  // absent: the last class has no voxel
          CAPTURE(s.str());
          CAPTURE(absent);
          const Tensor target = one_hot(rng.labels(s, absent ? k - 1 : k), k).to(t);
          const Shape ls{s[0], k, s[1], s[2], s[3]};
          const Tensor logits = scale(rng.normal(ls, t), 2.0);
          const std::vector<double> dc = dice_per_class(logits, target);
          const std::vector<double> dg =
              dice_per_class(logits.to(Device::CUDA), target.to(Device::CUDA));
          REQUIRE(dg.size() == dc.size());
          for (size_t c = 0; c < dc.size(); ++c) {
            CAPTURE(c);
            // <=, not Approx: an absent class's Dice is exactly 0 on both devices.
            CHECK(std::fabs(dg[c] - dc[c]) <= tol_for(t) * std::fabs(dc[c]));
          }
        }
    }
}

TEST_CASE("gpu ops: dice_ce_loss value and gradient") {
  FDL_GPU_RNG(rng);
  for (DType t : kFloats)
    for (int k : {2, 4}) {
      CAPTURE(dtype_name(t));
      CAPTURE(k);
      // The second shape spans several of the sums kernel's 4096-voxel spans per row.
      for (const Shape& s : {Shape{2, 11, 6, 13}, Shape{1, 23, 19, 21}})
        for (bool absent : {false, true}) {  // absent: the last class has no voxel
          CAPTURE(s.str());
          CAPTURE(absent);
          const Tensor target = one_hot(rng.labels(s, absent ? k - 1 : k), k).to(t);
          const Shape ls{s[0], k, s[1], s[2], s[3]};
          // awkward: zeros and +-40, where a softmax without its log-sum-exp shift would
          // overflow float32 once the logits add up.
          const Tensor logits = grad_leaf(scale(rng.awkward(ls, t), 2.0));
          check_op(
              "dice_ce_loss", [](auto& x) { return dice_ce_loss(x[0], x[1]); }, {logits, target},
              tol_for(t), rng);
        }
    }
}

TEST_CASE("gpu tensors: copies, fills and moves across devices") {
  FDL_GPU_RNG(rng);
  for (DType t : {DType::F32, DType::F64, DType::I32}) {
    CAPTURE(dtype_name(t));
    const Tensor h = t == DType::I32 ? rng.labels({2, 11, 6, 13}, 1000) : rng.normal(kOdd, t);
    const Tensor d = h.to(Device::CUDA);
    CHECK(d.device() == Device::CUDA);
    CHECK(d.dtype() == t);
    CHECK(d.to(Device::CUDA).same(d));
    CHECK(bit_equal(d.to(Device::CPU), h));

    // clone: equal data in a separate block.
    Tensor c = d.clone();
    CHECK(c.device() == Device::CUDA);
    CHECK(c.raw() != d.raw());
    CHECK(bit_equal(c, h));
    c.fill_(-3.0);
    CHECK(bit_equal(d, h));
    for (double v : c.to_vector()) REQUIRE(v == -3.0);

    // copy_ in every direction.
    Tensor dd = Tensor::zeros(h.shape(), t, Device::CUDA), hh = Tensor::zeros(h.shape(), t);
    dd.copy_(h);
    CHECK(bit_equal(dd, h));
    dd.fill_(1.0);
    dd.copy_(d);
    CHECK(bit_equal(dd, h));
    hh.copy_(d);
    CHECK(bit_equal(hh, h));

    // zeros and full on the device, and fill_ of a value each dtype holds exactly.
    for (double v : Tensor::zeros({3, 7}, t, Device::CUDA).to_vector()) REQUIRE(v == 0.0);
    for (double v : Tensor::full({5, 3}, 2.5, t, Device::CUDA).to_vector())
      REQUIRE(v == (t == DType::I32 ? 2.0 : 2.5));
    CHECK(Tensor::full({}, 4.0, t, Device::CUDA).item() == 4.0);
  }
  // Conversions stay on the device.
  const Tensor x = rng.normal(kSmall).to(Device::CUDA);
  const Tensor x64 = x.to(DType::F64);
  CHECK(x64.device() == Device::CUDA);
  CHECK(x64.to_vector() == x.to_vector());

  // move_to_: every handle sees the device; data kept, gradient dropped.
  Tensor leaf = rng.normal(kSmall);
  const std::vector<double> before = leaf.to_vector();
  leaf.set_requires_grad(true);
  leaf.set_grad(Tensor::zeros(kSmall));
  Tensor alias = leaf;
  leaf.move_to_(Device::CUDA);
  CHECK(alias.device() == Device::CUDA);
  CHECK(alias.requires_grad());
  CHECK(!alias.grad().defined());
  CHECK(alias.to_vector() == before);
  alias.move_to_(Device::CPU);
  CHECK(leaf.device() == Device::CPU);
  CHECK(leaf.to_vector() == before);
}

TEST_CASE("gpu allocator: debug mode poisons device blocks and catches writes past them") {
  struct DebugOn {
    bool prev = Allocator::debug();
    DebugOn() { Allocator::set_debug(true); }
    ~DebugOn() { Allocator::set_debug(prev); }
  } debug_on;
  for (double v : Tensor::empty({3, 7, 5}, DType::F32, Device::CUDA).to_vector())
    REQUIRE(std::isnan(v));
  for (double v : Tensor::empty({9}, DType::I32, Device::CUDA).to_vector()) REQUIRE(v == -1);
  const int64_t before = Allocator::guard_violations();
  {
    Tensor t = Tensor::empty({7}, DType::F32, Device::CUDA);
    const Tensor src = Tensor::zeros({8});
    copy_bytes(t.raw(), Device::CUDA, src.raw(), Device::CPU, src.nbytes());  // 4 bytes too many
  }
  CHECK(Allocator::guard_violations() == before + 1);
  Allocator::reset_guard_violations();  // the damage was deliberate
  // Blocks come back: nothing stays in use.
  auto& cuda = Allocator::get(Device::CUDA);
  const size_t in_use = cuda.stats().in_use;
  {
    Tensor t = Tensor::empty({1000}, DType::F32, Device::CUDA);
    CHECK(cuda.stats().in_use > in_use);
  }
  CHECK(cuda.stats().in_use == in_use);
}

namespace {

// Three steps of an optimizer on both devices from the same parameters and gradients: 50
// tensors, more than one launch of the multi-tensor kernels (48 per launch); "c" gets no
// gradient at step 1 and is left alone; from step 2 the learning rate is `late_lr` where it is
// positive. Every parameter, its update and each state entry <name>.<key> must agree, and the
// host-side counts <name>.<count> must be equal.
template <class Opt, class Options>
void check_optimizer_parity(gpu_test::Rng& rng, DType t, const Options& opt, double late_lr,
                            const std::vector<std::string>& keys,
                            const std::vector<std::string>& counts = {}) {
  std::vector<std::pair<std::string, Shape>> shapes{
      {"a", {8, 5, 3, 3, 3}}, {"b", {8}}, {"c", {3, 7, 1, 1, 1}}, {"d", {70001}}};
  for (int i = 0; i < 46; ++i)
    shapes.push_back({std::string("e").append(std::to_string(i)), {int64_t(1 + i)}});
  std::vector<std::pair<std::string, Tensor>> pc, pg;
  std::vector<Tensor> start;
  for (auto& [name, s] : shapes) {
    const Tensor p = rng.normal(s, t);
    start.push_back(p);
    pc.push_back({name, p.clone()});
    pg.push_back({name, p.to(Device::CUDA)});
  }
  Opt oc(pc, opt), og(pg, opt);
  for (int step = 0; step < 3; ++step) {
    if (step == 2 && late_lr > 0) oc.set_lr(late_lr), og.set_lr(late_lr);
    for (size_t i = 0; i < shapes.size(); ++i) {
      if (step == 1 && shapes[i].first == "c") continue;  // no gradient: left alone
      const Tensor g = rng.normal(shapes[i].second, t);
      pc[i].second.set_grad(g);
      pg[i].second.set_grad(g.to(Device::CUDA));
    }
    oc.step();
    og.step();
    oc.zero_grad();
    og.zero_grad();
  }
  CHECK(og.steps() == 3);
  const auto sc = oc.state(), sg = og.state();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const std::string& name = shapes[i].first;
    CAPTURE(name);
    check_agree(pg[i].second, pc[i].second, tol_for(t), "parameter");
    // The update itself, which the parameter's start value would otherwise dwarf.
    const test::Agreement u =
        test::agreement(host_minus(pg[i].second, start[i]), host_minus(pc[i].second, start[i]));
    CHECK_MESSAGE(u.rel_error <= tol_for(t), "update: normwise relative error ", u.rel_error);
    for (const std::string& key : keys)
      check_agree(sg.at(name + "." + key), sc.at(name + "." + key), tol_for(t), key);
    for (const std::string& count : counts)
      CHECK(sg.at(name + "." + count).item() == sc.at(name + "." + count).item());
  }
}

}  // namespace

TEST_CASE("gpu optim: three Adam steps with weight decay and a new lr match the cpu") {
  FDL_GPU_RNG(rng);
  for (DType t : kFloats) {
    CAPTURE(dtype_name(t));
    AdamOptions opt;
    opt.lr = 1e-2;
    opt.weight_decay = 0.1;
    check_optimizer_parity<Adam>(rng, t, opt, 3e-3, {"exp_avg", "exp_avg_sq"}, {"step"});
  }
}

TEST_CASE("gpu optim: three Nesterov SGD steps with weight decay and a new lr match the cpu") {
  FDL_GPU_RNG(rng);
  for (DType t : kFloats) {
    CAPTURE(dtype_name(t));
    const SgdOptions opt{.lr = 1e-2, .momentum = 0.99, .weight_decay = 0.1, .nesterov = true};
    check_optimizer_parity<Sgd>(rng, t, opt, 3e-3, {"momentum_buffer"});
  }
}
