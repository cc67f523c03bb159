// Spectral split and fusion on the GPU (cuFFT + kernels/cuda/spectral.cu) against the CPU,
// forward and backward, on odd and even sizes, both conventions, float32 and float64.
#include <doctest/doctest.h>

#include "engine/ops/spectral.h"
#include "tests/support.h"

using namespace fdl;

TEST_CASE("gpu: spectral split matches the cpu") {
  for (DType t : {DType::F32, DType::F64})
    for (KspaceCentre c : {KspaceCentre::Shifted, KspaceCentre::Unshifted})
      for (Shape s : {Shape{2, 3, 33, 20, 15}, Shape{1, 1, 32, 32, 16}}) {
        CAPTURE(s.str());
        const Tensor x = test::randn(s, 1, t);
        const double tol = t == DType::F32 ? 1e-4 : 1e-10;
        for (std::array<double, 3> beta : {std::array<double, 3>{0.1, 0.1, 1.0}, std::array<double, 3>{0.5, 0.34, 0.75}}) {
          const SplitResult cpu = spectral_split(x, beta, c);
          const SplitResult gpu = spectral_split(x.to(Device::CUDA), beta, c);
          CHECK(gpu.low.device() == Device::CUDA);
          test::check_close(gpu.low.to(Device::CPU), cpu.low, tol, tol, "low");
          test::check_close(gpu.high.to(Device::CPU), cpu.high, tol, tol, "high");
        }
      }
}

TEST_CASE("gpu: spectral fuse forward and backward match the cpu") {
  for (DType t : {DType::F32, DType::F64})
    for (KspaceCentre c : {KspaceCentre::Shifted, KspaceCentre::Unshifted}) {
      const double tol = t == DType::F32 ? 1e-4 : 1e-10;
      const Tensor h = test::randn({2, 4, 17, 12, 9}, 2, t), l = test::randn({2, 4, 5, 4, 9}, 3, t);
      const Tensor g = test::randn({2, 4, 17, 12, 9}, 4, t);
      Tensor hc = h.clone().set_requires_grad(true), lc = l.clone().set_requires_grad(true);
      Tensor hg = h.to(Device::CUDA).set_requires_grad(true), lg = l.to(Device::CUDA).set_requires_grad(true);
      const Tensor oc = spectral_fuse(hc, lc, c), og = spectral_fuse(hg, lg, c);
      test::check_close(og.to(Device::CPU), oc, tol, tol, "fused");
      oc.backward(g);
      og.backward(g.to(Device::CUDA));
      test::check_close(hg.grad().to(Device::CPU), hc.grad(), tol, tol, "grad_high");
      test::check_close(lg.grad().to(Device::CPU), lc.grad(), tol, tol, "grad_low");
    }
}
