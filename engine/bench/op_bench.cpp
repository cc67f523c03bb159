#include "engine/bench/op_bench.h"

#include "engine/autograd.h"
#include "engine/bench/timing.h"

namespace fdl::bench {

OpTimes time_op_case(const OpCase& c, Device d, int repeat) {
  Generator gen(1);
  std::vector<Tensor> in = draw_inputs(c, DType::F32, gen);
  OpTimes t;
  for (Tensor& x : in) {
    const bool grad = x.requires_grad();
    x = x.to(d);
    if (grad) x.set_requires_grad(true);
    t.has_backward = t.has_backward || grad;
  }
  const auto timed = [&](auto&& f) {
    return d == Device::CUDA ? median_device_seconds(f, repeat) : median_seconds(f, repeat);
  };
  t.forward = timed([&] {
    autograd::NoGrad no_grad;
    c.run(in);
  });
  if (t.has_backward) {
    Tensor seed;
    {
      autograd::NoGrad no_grad;
      seed = rand_normal(c.run(in).shape(), gen).to(d);
    }
    t.forward_backward = timed([&] {
      for (Tensor& x : in) x.set_grad(Tensor());
      c.run(in).backward(seed);
    });
  }
  return t;
}

}  // namespace fdl::bench
