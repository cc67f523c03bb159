#pragma once
// The GPU-vs-CPU harness, after ggml's test-backend-ops: a test case hands it an op as a
// closure and fresh random CPU inputs; the harness runs the op on copies of the inputs on
// both devices, forward and backward from the same random seed gradient, and judges every
// output and input gradient of the GPU against the CPU by normwise relative error and
// elementwise finiteness. The suite runs with the allocator in debug mode (tests/main_gpu.cpp),
// so an element an op leaves unwritten is a NaN and a write past a block is counted.
#include <functional>
#include <string>
#include <vector>

#include "engine/ops/conv3d.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace fdl::gpu_test {

// Normwise relative error bounds. FFMA float32 paths differ from the CPU only in summation
// order, FMA fusion and expf (the device's is within 2 ulps, the emulator's, glibc's, within
// 1; no fast-math intrinsics are used); TF32 rounds inputs to 10 mantissa bits; float64
// paths are near exact.
constexpr double kFp32 = 1e-5;
constexpr double kTf32 = 5e-3;
constexpr double kF64 = 1e-12;
inline double tol_for(DType t) { return t == DType::F64 ? kF64 : kFp32; }

// Fresh random CPU inputs from a seed drawn per object (test::fresh_seed: FDL_TEST_SEED fixes it).
class Rng {
 public:
  Rng();
  uint64_t seed() const { return seed_; }
  Generator& generator() { return gen_; }
  Tensor normal(const Shape& s, DType t = DType::F32);
  Tensor uniform(const Shape& s, double lo, double hi, DType t = DType::F32);
  // int32 labels, uniform over [0, classes).
  Tensor labels(const Shape& s, int classes);
  // Normal values with the awkward ones mixed in: exact zeros and +-40 (sigmoid saturation).
  Tensor awkward(const Shape& s, DType t = DType::F32);

 private:
  uint64_t seed_;
  Generator gen_;
};

// Declares `Rng name` and puts its seed into every failure message of the enclosing scope.
#define FDL_GPU_RNG(name)    \
  ::fdl::gpu_test::Rng name; \
  INFO("reproduce the inputs with FDL_TEST_SEED=", name.seed())

// CHECKs that gpu (on the GPU) agrees with cpu: same shape and dtype, normwise relative error
// <= tol, and no element finite on one side only. Returns the relative error.
double check_agree(const Tensor& gpu, const Tensor& cpu, double tol, const std::string& what);

// The GPU convolution's algorithm and reduction mode for one scope; afterwards the previous
// algorithm and the deterministic default.
class ConvSettings {
 public:
  explicit ConvSettings(ConvAlgo a, bool nondeterministic = false);
  ~ConvSettings();
  ConvSettings(const ConvSettings&) = delete;
  ConvSettings& operator=(const ConvSettings&) = delete;

 private:
  ConvAlgo prev_;
};

// Runs body once per schedule order of the GPU side, naming the order. On the emulator
// these are forward, reverse and random:<seed> (kernels/emu/scheduler.h), so a block whose
// threads race between barriers gives different bits in different orders; on a device,
// once, in the hardware's own order ("device"). The previous order is restored afterwards.
void for_each_order(uint64_t seed, const std::function<void(const std::string& order)>& body);

// CHECKs that `got` (computed under `order`) has bitwise the values of `first` (computed
// under `first_order`), or, where the GPU reduces floats with atomics (nondeterministic
// convolution), agrees within tol.
void check_same_across_orders(const Tensor& got, const Tensor& first, double tol,
                              const std::string& order, const std::string& first_order,
                              const std::string& what);

using Op = std::function<Tensor(const std::vector<Tensor>&)>;

struct Both {
  Tensor cpu, gpu;
};
struct OpRun {
  Both out;
  std::vector<Both> grad;  // per input; undefined where the input needs no gradient
};

// Runs op on fresh copies of `inputs` (CPU tensors, or undefined ones, passed through) on the
// CPU and on the GPU, the GPU side once per schedule order (for_each_order). An input that
// requires a gradient gets one on both sides: when the output is a float tensor and
// `backward` is set, both sides run backward from the same random seed gradient. CHECKs the
// GPU output's device, the agreement of the output and of every input gradient within tol,
// that every order gives the first order's bits, and that no guard was overwritten.
OpRun check_op(const std::string& what, const Op& op, const std::vector<Tensor>& inputs, double tol,
               Rng& rng, bool backward = true);
// The same with a different closure per device: a fused GPU kernel against the unfused
// composition it replaces on the CPU.
OpRun check_op(const std::string& what, const Op& cpu_op, const Op& gpu_op,
               const std::vector<Tensor>& inputs, double tol, Rng& rng, bool backward = true);

}  // namespace fdl::gpu_test
