// conv3d on the GPU: every algorithm against the CPU normwise over a grid of small shapes.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/ops/conv3d.h"
#include "tests/gpu/harness.h"
#include "tests/support.h"

using namespace fdl;
using namespace fdl::gpu_test;

namespace {

Tensor grad_leaf(Tensor t) { return t.set_requires_grad(true); }
bool bit_equal(const Tensor& a, const Tensor& b) { return a.to_vector() == b.to_vector(); }

const ConvAlgo kAlgos[] = {ConvAlgo::Direct, ConvAlgo::Tiled, ConvAlgo::Tf32};

struct ConvCase {
  int cin, cout;
  Shape x;
};
const ConvCase kConvCases[] = {{1, 8, {2, 1, 11, 6, 13}},
                               {8, 16, {1, 8, 7, 5, 9}},
                               {5, 3, {2, 5, 11, 6, 13}},
                               {64, 32, {1, 64, 5, 4, 3}}};
const DType kFloats[] = {DType::F32, DType::F64};

double conv_tol(ConvAlgo a, DType t) {
  if (t == DType::F64) return 1e-10;  // float64 always takes the direct kernel
  return a == ConvAlgo::Tf32 ? kTf32 : kFp32;
}

// Every (k, stride, padding, bias, channels) combination under the current settings.
void check_conv_grid(ConvAlgo a, DType t, Rng& rng) {
  for (const ConvCase& cc : kConvCases)
    for (int k : {1, 3})
      for (int stride : {1, 2})
        for (int pad : {0, 1})
          for (bool bias : {false, true}) {
            CAPTURE(cc.x.str());
            CAPTURE(cc.cout);
            CAPTURE(k);
            CAPTURE(stride);
            CAPTURE(pad);
            CAPTURE(bias);
            const Tensor x = grad_leaf(rng.normal(cc.x, t));
            const Tensor w = grad_leaf(rng.normal({cc.cout, cc.cin, k, k, k}, t));
            const Tensor b = bias ? grad_leaf(rng.normal({cc.cout}, t)) : Tensor();
            check_op(std::string("conv3d ") + conv_algo_name(a),
                     [stride, pad](auto& v) { return conv3d(v[0], v[1], v[2], stride, pad); },
                     {x, w, b}, conv_tol(a, t), rng);
          }
}

}  // namespace

TEST_CASE("gpu conv3d: every algorithm in float32 and float64") {
  FDL_GPU_RNG(rng);
  for (ConvAlgo a : kAlgos)
    for (DType t : kFloats) {
      CAPTURE(conv_algo_name(a));
      CAPTURE(dtype_name(t));
      ConvSettings settings(a);
      check_conv_grid(a, t, rng);
    }
}

TEST_CASE("gpu conv3d: nondeterministic weight gradients stay within tolerance") {
  FDL_GPU_RNG(rng);
  for (ConvAlgo a : kAlgos) {
    CAPTURE(conv_algo_name(a));
    ConvSettings settings(a, true);
    check_conv_grid(a, DType::F32, rng);
  }
}

// The grid's volumes are too small to split the bias gradient (more than 8192 values per
// channel) or to give the weight gradient many parts: at stride 1 this one does both (7
// bias blocks and about 100 weight parts per channel), and its rows span hundreds of tiles.
TEST_CASE("gpu conv3d: a volume that splits the bias and weight reductions") {
  FDL_GPU_RNG(rng);
  const Shape xs{2, 4, 33, 30, 27};
  for (ConvAlgo a : kAlgos)
    for (bool nondeterministic : {false, true})
      for (int stride : {1, 2}) {
        CAPTURE(conv_algo_name(a));
        CAPTURE(nondeterministic);
        CAPTURE(stride);
        ConvSettings settings(a, nondeterministic);
        const Tensor x = grad_leaf(rng.normal(xs)), w = grad_leaf(rng.normal({6, 4, 3, 3, 3}));
        const Tensor b = grad_leaf(rng.normal({6}));
        check_op(std::string("conv3d ") + conv_algo_name(a),
                 [stride](auto& v) { return conv3d(v[0], v[1], v[2], stride, 1); }, {x, w, b},
                 conv_tol(a, DType::F32), rng);
      }
}

TEST_CASE("gpu conv3d: gradients are bit-identical across runs by default") {
  FDL_GPU_RNG(rng);
  const Tensor x = rng.normal({2, 16, 24, 20, 18});
  const Tensor w = rng.normal({16, 16, 3, 3, 3}), b = rng.normal({16});
  for (ConvAlgo a : kAlgos)
    for (int stride : {1, 2}) {
      CAPTURE(conv_algo_name(a));
      CAPTURE(stride);
      ConvSettings settings(a);
      std::vector<Tensor> first;
      for (int run = 0; run < 2; ++run) {
        Tensor xg = x.to(Device::CUDA).set_requires_grad(true);
        Tensor wg = w.to(Device::CUDA).set_requires_grad(true);
        Tensor bg = b.to(Device::CUDA).set_requires_grad(true);
        const Tensor y = conv3d(xg, wg, bg, stride, 1);
        Generator sg(99);
        y.backward(rand_normal(y.shape(), sg).to(Device::CUDA));
        const std::vector<Tensor> got{y, wg.grad(), bg.grad(), xg.grad()};
        if (run == 0) {
          first = got;
          continue;
        }
        CHECK_MESSAGE(bit_equal(got[0], first[0]), "output");
        CHECK_MESSAGE(bit_equal(got[1], first[1]), "weight gradient");
        CHECK_MESSAGE(bit_equal(got[2], first[2]), "bias gradient");
        CHECK_MESSAGE(bit_equal(got[3], first[3]), "input gradient");
      }
    }
}
