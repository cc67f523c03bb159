// Instance norm fused with leaky ReLU on the GPU against the unfused composition it replaces
// on the CPU, forward and backward (the fused op on both devices is in the op table).
#include <doctest/doctest.h>

#include "engine/ops/elementwise.h"
#include "engine/ops/instance_norm.h"
#include "tests/gpu/harness.h"

using namespace fdl;
using namespace fdl::gpu_test;

TEST_CASE("gpu ops: instance_norm_leaky_relu matches the unfused composition") {
  FDL_GPU_RNG(rng);
  for (DType t : {DType::F32, DType::F64})
    for (const Shape& s : {Shape{1, 3, 7, 5, 9}, Shape{2, 5, 11, 6, 13}, Shape{1, 2, 33, 31, 17}})
      for (double slope : {0.01, 0.2})
        for (double eps : {1e-5, 1e-3}) {
          CAPTURE(dtype_name(t));
          CAPTURE(s.str());
          CAPTURE(slope);
          CAPTURE(eps);
          const Tensor x = rng.normal(s, t).set_requires_grad(true);
          const Op fused = [=](auto& v) { return instance_norm_leaky_relu(v[0], slope, eps); };
          const Op unfused = [=](auto& v) { return leaky_relu(instance_norm(v[0], eps), slope); };
          check_op("instance_norm_leaky_relu vs the composition", unfused, fused, {x}, tol_for(t),
                   rng);
        }
  const Tensor xg = rng.normal({1, 2, 3, 3, 3}).to(Device::CUDA);
  CHECK_THROWS_AS(instance_norm_leaky_relu(xg, 0.0), Error);
}
