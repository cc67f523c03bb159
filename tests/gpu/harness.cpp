#include "tests/gpu/harness.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>

#include "engine/allocator.h"
#include "engine/ops/op_cases.h"
#include "tests/support.h"

#ifdef FDL_CUDA_EMU
#include "kernels/emu/scheduler.h"
#endif

namespace fdl::gpu_test {

Rng::Rng() : seed_(test::fresh_seed()), gen_(seed_) {}

Tensor Rng::normal(const Shape& s, DType t) { return rand_normal(s, gen_, t); }

Tensor Rng::uniform(const Shape& s, double lo, double hi, DType t) {
  return rand_uniform(s, lo, hi, gen_, t);
}

// The op table's draws (engine/ops/op_cases.h), so a test's inputs are the table's kind.
Tensor Rng::labels(const Shape& s, int classes) {
  return draw(fdl::labels(s, classes), DType::I32, gen_);
}

Tensor Rng::awkward(const Shape& s, DType t) { return draw(fdl::awkward(s), t, gen_); }

double check_agree(const Tensor& gpu, const Tensor& cpu, double tol, const std::string& what) {
  INFO(what);
  REQUIRE(gpu.defined());
  REQUIRE(cpu.defined());
  CHECK_MESSAGE(gpu.device() == Device::CUDA, "the gpu result is on the ",
                device_name(gpu.device()));
  REQUIRE_MESSAGE(gpu.shape() == cpu.shape(), "shape ", gpu.shape().str(), " vs ",
                  cpu.shape().str());
  CHECK_MESSAGE(gpu.dtype() == cpu.dtype(), dtype_name(gpu.dtype()), " vs ",
                dtype_name(cpu.dtype()));
  const test::Agreement a = test::agreement(gpu, cpu);
  CHECK_MESSAGE(a.bad_elements == 0, a.bad_elements, " elements are finite on one side only (a ",
                "NaN on the gpu may be an unwritten, poisoned element), the first at flat index ",
                a.first_bad, " of ", cpu.shape().str());
  CHECK_MESSAGE(a.rel_error <= tol, "normwise relative error ", a.rel_error, " > ", tol);
  return a.rel_error;
}

ConvSettings::ConvSettings(ConvAlgo a, bool nondeterministic) : prev_(cuda_conv_algo()) {
  set_cuda_conv_algo(a);
  set_cuda_conv_nondeterministic(nondeterministic);
}

ConvSettings::~ConvSettings() {
  set_cuda_conv_algo(prev_);
  set_cuda_conv_nondeterministic(false);
}

namespace {
// A fresh copy of a test input on device d, carrying its requires_grad (undefined stays so).
Tensor copy_for(const Tensor& in, Device d) {
  if (!in.defined()) return in;
  Tensor t = in.device() == d ? in.clone() : in.to(d);
  if (in.requires_grad()) t.set_requires_grad(true);
  return t;
}

std::vector<Tensor> copies(const std::vector<Tensor>& inputs, Device d) {
  std::vector<Tensor> out;
  for (const Tensor& in : inputs) out.push_back(copy_for(in, d));
  return out;
}
}  // namespace

void for_each_order(uint64_t seed, const std::function<void(const std::string& order)>& body) {
#ifdef FDL_CUDA_EMU
  const emu::Schedule before = emu::schedule();
  try {
    for (const emu::Schedule s :
         {emu::Schedule{emu::Order::Forward, 0}, emu::Schedule{emu::Order::Reverse, 0},
          emu::Schedule{emu::Order::Random, seed}}) {
      emu::set_schedule(s);
      body(emu::schedule_name(s));
    }
  } catch (...) {
    emu::set_schedule(before);
    throw;
  }
  emu::set_schedule(before);
#else
  (void)seed;
  body("device");
#endif
}

void check_same_across_orders(const Tensor& got, const Tensor& first, double tol,
                              const std::string& order, const std::string& first_order,
                              const std::string& what) {
  INFO(what, " under the ", order, " schedule against the ", first_order, " one");
  REQUIRE(got.defined() == first.defined());
  if (!got.defined()) return;
  REQUIRE(got.shape() == first.shape());
  if (cuda_conv_nondeterministic()) {
    const test::Agreement a = test::agreement(got, first);
    CHECK(a.bad_elements == 0);
    CHECK_MESSAGE(a.rel_error <= tol, "atomic reductions: normwise relative error ", a.rel_error);
    return;
  }
  const std::vector<double> a = got.to_vector(), b = first.to_vector();
  int64_t differ = 0, at = -1;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(double)) != 0 && differ++ == 0) at = int64_t(i);
  CHECK_MESSAGE(differ == 0, differ, " elements differ in their bits (a race between barriers?),",
                " the first at flat index ", at, ": ", at < 0 ? 0 : a[size_t(at)], " vs ",
                at < 0 ? 0 : b[size_t(at)]);
}

OpRun check_op(const std::string& what, const Op& op, const std::vector<Tensor>& inputs, double tol,
               Rng& rng, bool backward) {
  return check_op(what, op, op, inputs, tol, rng, backward);
}

OpRun check_op(const std::string& what, const Op& cpu_op, const Op& gpu_op,
               const std::vector<Tensor>& inputs, double tol, Rng& rng, bool backward) {
  INFO(what);
  const int64_t guards = Allocator::guard_violations();
  OpRun run;
  run.grad.resize(inputs.size());
  {
    std::vector<Tensor> xc = copies(inputs, Device::CPU);
    run.out.cpu = cpu_op(xc);
    const DType t = run.out.cpu.dtype();
    const bool grads = backward && t != DType::I32 &&
                       std::any_of(inputs.begin(), inputs.end(), [](const Tensor& x) {
                         return x.defined() && x.requires_grad();
                       });
    const Tensor seed = grads ? rng.normal(run.out.cpu.shape(), t) : Tensor();
    if (grads) {
      run.out.cpu.backward(seed);
      for (size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].defined() && inputs[i].requires_grad()) run.grad[i].cpu = xc[i].grad();
    }
    std::string first_order;
    for_each_order(rng.seed(), [&](const std::string& order) {
      INFO("schedule ", order);
      std::vector<Tensor> xg = copies(inputs, Device::CUDA);
      const Tensor out = gpu_op(xg);
      if (grads) out.backward(seed.to(Device::CUDA));
      if (first_order.empty()) {
        first_order = order;
        run.out.gpu = out;
        check_agree(out, run.out.cpu, tol, what + ": output");
      } else {
        check_same_across_orders(out, run.out.gpu, tol, order, first_order, what + ": output");
      }
      for (size_t i = 0; grads && i < inputs.size(); ++i) {
        if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
        INFO("input ", i);
        Both& g = run.grad[i];
        const Tensor gg = xg[i].grad();
        const std::string name = what + ": gradient of input " + std::to_string(i);
        if (order != first_order) {
          check_same_across_orders(gg, g.gpu, tol, order, first_order, name);
          continue;
        }
        g.gpu = gg;
        CHECK_MESSAGE(g.cpu.defined() == g.gpu.defined(), "a gradient on one device only");
        if (g.cpu.defined() && g.gpu.defined()) check_agree(g.gpu, g.cpu, tol, name);
      }
    });
  }
  // The op's own temporaries are gone: their guards have been checked.
  CHECK_MESSAGE(Allocator::guard_violations() == guards,
                "a block was written past its end (see stderr for its size)");
  return run;
}

}  // namespace fdl::gpu_test
