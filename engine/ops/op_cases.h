#pragma once
// The op-case table, after ggml's test-backend-ops: each case is one op on inputs of given
// shapes, with the bound its GPU twin is held to and why. One table drives three checks:
// the float64 gradient check of the CPU suite (tests/engine/test_op_cases.cpp), the
// CPU-vs-GPU parity of the GPU suite (tests/gpu/test_op_cases_gpu.cpp) and the timing of
// `fdl bench ops`. A new op adds its cases here and is covered by all three.
#include <functional>
#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace fdl {

// How an input's values are drawn.
enum class Fill {
  Normal,   // N(0, stddev^2)
  Awkward,  // N(0, 1) with exact zeros and +-40 (sigmoid saturation) mixed in
  Shifted,  // N(0, 1) with 50 added to channel 1, and slice (0, 0) constant: a mean much
            // larger than the spread, and a variance of 0
  Labels,   // int32 classes, uniform over [0, classes)
  OneHot,   // a one-hot target (N, classes, X, Y, Z) of labels uniform over [0, present)
};

struct Input {
  Shape shape;  // for OneHot, the label map's (N, X, Y, Z)
  Fill fill = Fill::Normal;
  bool grad = true;  // a float input whose gradient the case checks
  double stddev = 1;
  int classes = 0, present = 0;  // Labels, OneHot
};
Input normal(const Shape& s, double stddev = 1);
Input awkward(const Shape& s);
Input shifted(const Shape& s);
Input labels(const Shape& s, int classes);  // no gradient
// A one-hot target of `classes` in which only the first `present` occur; no gradient.
Input one_hot_target(const Shape& label_shape, int classes, int present);
Input no_grad(Input in);

// Which drivers run a case.
enum CaseCheck : unsigned { kGradcheck = 1, kParity = 2, kTiming = 4 };

// The bound on the normwise relative error of the GPU's output and input gradients against
// the CPU's, per dtype, and the reason for it.
struct Tolerance {
  double f32, f64;
  const char* why;
  double of(DType t) const { return t == DType::F64 ? f64 : f32; }
};

// The central-difference check: |analytic - numeric| <= atol + rtol * |numeric|.
struct GradTolerance {
  double eps = 1e-6, rtol = 1e-5, atol = 1e-7;
};

using CaseFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct OpCase {
  std::string op;    // the op's name: what `fdl bench ops --op` and the suites' filters match
  std::string name;  // the op with its parameters and shapes, for messages and tables
  std::vector<Input> inputs;
  CaseFn run;
  unsigned checks = kGradcheck | kParity;
  Tolerance tol;
  GradTolerance grad{};
};

const std::vector<OpCase>& op_cases();

// Fresh values for one input, on the CPU: dtype t if it is a float input.
Tensor draw(const Input& in, DType t, Generator& gen);
// Fresh CPU inputs for c, drawn from gen: float ones of dtype t, requiring a gradient where
// the case checks one; labels stay int32.
std::vector<Tensor> draw_inputs(const OpCase& c, DType t, Generator& gen);

}  // namespace fdl
