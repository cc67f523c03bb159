#include "train/step_bench.h"

#include <cmath>
#include <vector>

#include "engine/bench/timing.h"
#include "engine/device.h"
#include "engine/ops/dice.h"
#include "engine/ops/one_hot.h"
#include "engine/optim/adam.h"
#include "models/seg_model.h"

namespace fdl::bench {

namespace {
// Labels: class 1 inside a sphere of a quarter of the smallest extent, at the centre.
Tensor sphere_labels(int batch, std::array<int64_t, 3> s) {
  Tensor t = Tensor::zeros({batch, s[0], s[1], s[2]}, DType::I32);
  int32_t* p = t.data<int32_t>();
  const double r = 0.25 * double(std::min({s[0], s[1], s[2]}));
  for (int64_t n = 0, i = 0; n < batch; ++n)
    for (int64_t x = 0; x < s[0]; ++x)
      for (int64_t y = 0; y < s[1]; ++y)
        for (int64_t z = 0; z < s[2]; ++z, ++i)
          p[i] = std::hypot(x - s[0] / 2.0, y - s[1] / 2.0, z - s[2] / 2.0) < r;
  return t;
}
}  // namespace

TrainStepTimes time_train_step(const std::string& name, std::array<int64_t, 3> shape, int batch,
                               int repeat, Device device) {
  Generator init(1);
  auto model = make_model(name, ModelOptions{}, init);
  model->to(device);
  model->train(true);
  Adam adam(model->named_parameters());
  const Tensor x = rand_normal({batch, 1, shape[0], shape[1], shape[2]}, init).to(device);
  const Tensor target = one_hot(sphere_labels(batch, shape).to(device), 2);
  TrainStepTimes r;
  auto step = [&] {
    const Tensor loss = soft_dice_loss(model->forward(x), target);
    loss.backward();
    adam.step();
    adam.zero_grad();
    r.loss = loss.item();
    device_synchronize();  // item() drained the one stream already; the timing must not rely on it
  };
  step();  // the warm-up outside the peak window: the allocator's cache fills here
  Allocator::get(device).reset_peak();
  r.seconds = median_seconds(step, repeat);
  r.peak_bytes = Allocator::get(device).stats().peak;
  return r;
}

}  // namespace fdl::bench
