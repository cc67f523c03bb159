#include "engine/ops/op_cases.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/ops/concat.h"
#include "engine/ops/conv3d.h"
#include "engine/ops/dice.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/instance_norm.h"
#include "engine/ops/one_hot.h"
#include "engine/ops/spectral.h"
#include "engine/ops/upsample.h"

namespace fdl {

Input normal(const Shape& s, double stddev) { return {s, Fill::Normal, true, stddev}; }
Input awkward(const Shape& s) { return {s, Fill::Awkward}; }
Input shifted(const Shape& s) { return {s, Fill::Shifted}; }
Input labels(const Shape& s, int classes) { return {s, Fill::Labels, false, 1, classes, classes}; }
Input one_hot_target(const Shape& label_shape, int classes, int present) {
  return {label_shape, Fill::OneHot, false, 1, classes, present};
}
Input no_grad(Input in) {
  in.grad = false;
  return in;
}

namespace {

Tensor uniform_labels(const Shape& s, int classes, Generator& gen) {
  std::vector<double> v = rand_uniform(s, 0, classes, gen, DType::F64).to_vector();
  for (double& x : v) x = std::min(std::floor(x), double(classes - 1));
  return Tensor::from_vector(v, s).to(DType::I32);
}

// Why each op's GPU twin may differ from the CPU, as a bound on the normwise relative error.
constexpr Tolerance kRounding{1e-5, 1e-12,
                              "float32 differs in summation order, FMA contraction and expf (the "
                              "device's within 2 ulps, glibc's within 1; no fast-math); float64 "
                              "near exact"};
constexpr Tolerance kExact{0, 0, "0/1 values: nothing is rounded"};
constexpr Tolerance kFft{1e-4, 1e-10,
                         "cuFFT and FFTW plan and round each transform differently, a few ulps "
                         "times log2(n) each"};
constexpr Tolerance kConv{1e-5, 1e-10,
                          "the default kernels: tiled FFMA in float32 (summation order), direct "
                          "in float64, up to 27 * Cin terms an output"};

const Shape kSmall{1, 3, 7, 5, 9};
const Shape kOdd{2, 5, 11, 6, 13};
const Shape kLong{1, 2, 33, 31, 17};  // slices longer than one block of the GPU statistics

// The U-Net at the paper's 160x160x128 input, batch 2, 8 base filters: the shapes timed.
const Shape kNet0{2, 8, 160, 160, 128};
const Shape kNet1{2, 16, 80, 80, 64};
const Shape kNet2{2, 32, 40, 40, 32};

std::string describe(const std::string& op, const std::string& params,
                     const std::vector<Input>& in) {
  std::string s = op + (params.empty() ? "" : " " + params) + " on ";
  for (size_t i = 0; i < in.size(); ++i) s += (i ? ", " : "") + in[i].shape.str();
  return s;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

class Table {
 public:
  void add(const std::string& op, const std::string& params, std::vector<Input> in, CaseFn run,
           unsigned checks, Tolerance tol, GradTolerance grad = {}) {
    cases_.push_back(
        {op, describe(op, params, in), std::move(in), std::move(run), checks, tol, grad});
  }
  std::vector<OpCase> take() { return std::move(cases_); }

 private:
  std::vector<OpCase> cases_;
};

constexpr unsigned kBoth = kGradcheck | kParity;

void elementwise(Table& t) {
  // The parity shapes are larger than a gradient check needs: its cost grows with the square
  // of the size.
  for (const Shape& s : {Shape{3, 5}, kSmall, kOdd}) {
    const unsigned checks = s == kOdd ? kParity : kBoth;
    t.add(
        "add", "", {normal(s), normal(s)}, [](auto& x) { return add(x[0], x[1]); }, checks,
        kRounding);
    t.add(
        "add", "of a tensor to itself", {normal(s)}, [](auto& x) { return add(x[0], x[0]); },
        checks, kRounding);
    for (double f : {-0.37, 0.0})
      t.add(
          "scale", "by " + num(f), {normal(s)}, [f](auto& x) { return scale(x[0], f); }, checks,
          kRounding);
    // In place and outside autograd: nothing to differentiate.
    t.add(
        "add_", "", {no_grad(normal(s)), no_grad(normal(s))},
        [](auto& x) {
          Tensor d = x[0].clone();
          add_(d, x[1]);
          return d;
        },
        kParity, kRounding);
  }
  t.add(
      "scale", "by -2.5", {normal({7})}, [](auto& x) { return scale(x[0], -2.5); }, kBoth,
      kRounding);
  t.add(
      "sigmoid", "", {normal({2, 3, 7})}, [](auto& x) { return sigmoid(x[0]); }, kBoth, kRounding);
  t.add(
      "leaky_relu", "slope 0.01", {normal({5, 3, 3})},
      [](auto& x) { return leaky_relu(x[0], 0.01); }, kBoth, kRounding);
  for (const Shape& s : {kSmall, kOdd}) {
    t.add(
        "sigmoid", "with zeros and saturation", {awkward(s)}, [](auto& x) { return sigmoid(x[0]); },
        s == kOdd ? kParity : kBoth, kRounding);
    // Exact zeros sit on the kink, where central differences average the two slopes: parity only.
    for (double slope : {0.01, 0.2})
      t.add(
          "leaky_relu", "slope " + num(slope) + " with zeros and saturation", {awkward(s)},
          [slope](auto& x) { return leaky_relu(x[0], slope); }, kParity, kRounding);
  }
  t.add(
      "add", "", {normal(kNet0), normal(kNet0)}, [](auto& x) { return add(x[0], x[1]); }, kTiming,
      kRounding);
  t.add(
      "sigmoid", "", {normal({2, 2, 160, 160, 128})}, [](auto& x) { return sigmoid(x[0]); },
      kTiming, kRounding);
  t.add(
      "leaky_relu", "slope 0.01", {normal(kNet0)}, [](auto& x) { return leaky_relu(x[0], 0.01); },
      kTiming, kRounding);
}

void concat(Table& t) {
  const CaseFn abc = [](auto& x) { return concat_channels({x[0], x[1], x[2]}); };
  const CaseFn aba = [](auto& x) { return concat_channels({x[0], x[1], x[0]}); };
  t.add("concat_channels", "a, b, c",
        {normal({2, 1, 3, 1, 5}), normal({2, 3, 3, 1, 5}), normal({2, 2, 3, 1, 5})}, abc, kBoth,
        kRounding);
  t.add("concat_channels", "a, b, c",
        {normal({2, 3, 7, 5, 9}), normal({2, 5, 7, 5, 9}), normal({2, 1, 7, 5, 9})}, abc, kParity,
        kRounding);
  t.add("concat_channels", "a, b, a", {normal({2, 3, 7, 5, 9}), normal({2, 5, 7, 5, 9})}, aba,
        kParity, kRounding);
  t.add(
      "concat_channels", "a, a", {normal({1, 3, 2, 3, 3})},
      [](auto& x) {
        return concat_channels({x[0], x[0]});
      },
      kBoth, kRounding);
  // A non-leaf twice (the network's cat(t, t)): both slices flow back into t.
  t.add(
      "concat_channels", "t, b, t of t = sigmoid(a)",
      {normal({2, 2, 1, 3, 3}), normal({2, 1, 1, 3, 3})},
      [](auto& x) {
        const Tensor s = sigmoid(x[0]);
        return concat_channels({s, x[1], s});
      },
      kBoth, kRounding);
  t.add(
      "concat_channels", "a, b (a skip connection)", {normal(kNet1), normal(kNet1)},
      [](auto& x) {
        return concat_channels({x[0], x[1]});
      },
      kTiming, kRounding);
}

void upsample(Table& t) {
  const CaseFn up = [](auto& x) { return upsample_nearest2x(x[0]); };
  for (const Shape& s : {Shape{2, 3, 3, 1, 5}, Shape{1, 1, 1, 1, 1}, kSmall})
    t.add("upsample_nearest2x", "", {normal(s)}, up, kBoth, kRounding);
  t.add("upsample_nearest2x", "", {normal(kOdd)}, up, kParity, kRounding);
  t.add("upsample_nearest2x", "", {normal(kNet1)}, up, kTiming, kRounding);
}

// A fixed generator state per call, so every run draws the same mask (the generator's own
// contract is tested in tests/kernels/test_dropout.cpp and the GPU suite).
CaseFn dropout_at(double p, uint64_t seed) {
  return [p, seed](auto& x) {
    Generator g(seed);
    g.offset = 5;
    return dropout3d(x[0], p, true, g);
  };
}

void dropout(Table& t) {
  t.add("dropout3d", "p 0.4", {normal({3, 5, 2, 3, 1})}, dropout_at(0.4, 7), kBoth, kRounding);
  for (const Shape& s : {kOdd, Shape{4, 37, 3, 3, 3}})
    for (double p : {0.3, 0.6})
      t.add("dropout3d", "p " + num(p), {normal(s)}, dropout_at(p, 17), kParity, kRounding);
  t.add("dropout3d", "p 0.3", {normal(kNet2)}, dropout_at(0.3, 17), kTiming, kRounding);
}

void one_hot_cases(Table& t) {
  for (int k : {2, 3, 5})
    t.add(
        "one_hot", std::to_string(k) + " classes", {labels({2, 11, 6, 13}, k)},
        [k](auto& x) { return one_hot(x[0], k); }, kParity, kExact);
  t.add(
      "one_hot", "2 classes", {labels({2, 160, 160, 128}, 2)},
      [](auto& x) { return one_hot(x[0], 2); }, kTiming, kExact);
}

void instance_norm_cases(Table& t) {
  auto norm = [](double eps) -> CaseFn {
    return [eps](auto& x) { return instance_norm(x[0], eps); };
  };
  auto fused = [](double slope, double eps) -> CaseFn {
    return [slope, eps](auto& x) { return instance_norm_leaky_relu(x[0], slope, eps); };
  };
  // A large eps and slices of one element (variance 0) exercise the eps path; slices of one
  // element normalise to exactly 0, where the slope applies.
  t.add("instance_norm", "eps 1e-05", {normal({2, 3, 5, 6, 7})}, norm(1e-5), kBoth, kRounding);
  t.add("instance_norm", "eps 0.5", {normal({1, 2, 3, 1, 5})}, norm(0.5), kBoth, kRounding);
  t.add("instance_norm", "eps 1e-05", {normal({3, 1, 1, 1, 1})}, norm(1e-5), kBoth, kRounding);
  t.add("instance_norm_leaky_relu", "slope 0.01 eps 1e-05", {normal({2, 3, 5, 6, 7})},
        fused(0.01, 1e-5), kBoth, kRounding);
  t.add("instance_norm_leaky_relu", "slope 0.3 eps 0.5", {normal({1, 2, 3, 1, 5})}, fused(0.3, 0.5),
        kBoth, kRounding);
  t.add("instance_norm_leaky_relu", "slope 0.1 eps 1e-05", {normal({3, 1, 1, 1, 1})},
        fused(0.1, 1e-5), kBoth, kRounding);
  for (const Shape& s : {kSmall, kOdd, kLong}) {
    t.add("instance_norm", "eps 1e-05", {normal(s)}, norm(1e-5), kParity, kRounding);
    for (double slope : {0.01, 0.2})
      for (double eps : {1e-5, 1e-3})
        t.add("instance_norm_leaky_relu", "slope " + num(slope) + " eps " + num(eps), {normal(s)},
              fused(slope, eps), kParity, kRounding);
  }
  for (double eps : {1e-5, 1e-3})
    t.add("instance_norm", "eps " + num(eps) + ", offset and constant slices", {shifted(kOdd)},
          norm(eps), kParity, kRounding);
  t.add("instance_norm", "eps 1e-05", {normal(kNet0)}, norm(1e-5), kTiming, kRounding);
  t.add("instance_norm_leaky_relu", "slope 0.01 eps 1e-05", {normal(kNet0)}, fused(0.01, 1e-5),
        kTiming, kRounding);
}

void dice(Table& t) {
  const CaseFn loss = [](auto& x) { return soft_dice_loss(x[0], x[1]); };
  // The target gets no gradient; the one-hot target is drawn, then cast to the case's dtype.
  for (bool absent : {false, true})
    t.add("soft_dice_loss", absent ? "the last class absent" : "",
          {normal({2, 3, 3, 2, 5}), one_hot_target({2, 3, 2, 5}, 3, absent ? 2 : 3)}, loss, kBoth,
          kRounding);
  for (int k : {2, 3})
    for (const Shape& s : {Shape{2, 11, 6, 13}, Shape{1, 7, 5, 9}})
      for (bool absent : {false, true})
        t.add("soft_dice_loss", absent ? "the last class absent" : "",
              {normal({s[0], k, s[1], s[2], s[3]}, 2.0), one_hot_target(s, k, absent ? k - 1 : k)},
              loss, kParity, kRounding);
  t.add("soft_dice_loss", "",
        {normal({2, 2, 160, 160, 128}), one_hot_target({2, 160, 160, 128}, 2, 2)}, loss, kTiming,
        kRounding);
}

void spectral(Table& t) {
  using Beta = std::array<double, 3>;
  for (KspaceCentre c : {KspaceCentre::Shifted, KspaceCentre::Unshifted}) {
    const std::string centre = kspace_centre_name(c);
    // The split is applied to inputs and records no gradient: parity only, a case per part.
    for (const Shape& s : {Shape{2, 3, 33, 20, 15}, Shape{1, 1, 32, 32, 16}})
      for (const Beta& b : {Beta{0.1, 0.1, 1.0}, Beta{0.5, 0.34, 0.75}}) {
        const std::string params =
            centre + " beta " + num(b[0]) + " " + num(b[1]) + " " + num(b[2]);
        t.add(
            "spectral_split", params + ", low", {no_grad(normal(s))},
            [b, c](auto& x) { return spectral_split(x[0], b, c).low; }, kParity, kFft);
        t.add(
            "spectral_split", params + ", high", {no_grad(normal(s))},
            [b, c](auto& x) { return spectral_split(x[0], b, c).high; }, kParity, kFft);
      }
    const CaseFn fuse = [c](auto& x) { return spectral_fuse(x[0], x[1], c); };
    t.add("spectral_fuse", centre, {normal({1, 2, 5, 4, 3}), normal({1, 2, 3, 2, 3})}, fuse, kBoth,
          kFft);
    t.add("spectral_fuse", centre, {normal({2, 4, 17, 12, 9}), normal({2, 4, 5, 4, 9})}, fuse,
          kParity, kFft);
  }
  t.add(
      "spectral_split", "shifted beta 0.1 0.1 1, low", {no_grad(normal({2, 1, 160, 160, 128}))},
      [](auto& x) {
        return spectral_split(x[0], {0.1, 0.1, 1.0}, KspaceCentre::Shifted).low;
      },
      kTiming, kFft);
  t.add(
      "spectral_fuse", "shifted", {normal(kNet0), normal({2, 8, 16, 16, 128})},
      [](auto& x) { return spectral_fuse(x[0], x[1], KspaceCentre::Shifted); }, kTiming, kFft);
}

void conv(Table& t) {
  struct Config {
    int k, stride, pad;
    bool bias;
  };
  for (const Config& c : {Config{3, 1, 1, false}, Config{3, 1, 1, true}, Config{3, 2, 1, false},
                          Config{3, 2, 1, true}, Config{1, 1, 0, true}, Config{1, 1, 0, false},
                          Config{3, 1, 0, true}}) {
    std::vector<Input> in{normal({2, 3, 5, 7, 6}), normal({5, 3, c.k, c.k, c.k})};
    if (c.bias) in.push_back(normal({5}));
    char params[48];
    std::snprintf(params, sizeof params, "k%d stride %d pad %d%s", c.k, c.stride, c.pad,
                  c.bias ? " bias" : "");
    // Linear in each input, so central differences are exact at any step: a large one keeps
    // the rounding of the output's sum (about 1e-12 here) from being divided by a tiny one.
    t.add(
        "conv3d", params, in,
        [c](auto& x) { return conv3d(x[0], x[1], c.bias ? x[2] : Tensor(), c.stride, c.pad); },
        kBoth, kConv, GradTolerance{1e-3});
  }
  t.add(
      "conv3d", "k3 stride 1 pad 1 bias", {normal(kNet0), normal({8, 8, 3, 3, 3}), normal({8})},
      [](auto& x) { return conv3d(x[0], x[1], x[2], 1, 1); }, kTiming, kConv);
}

std::vector<OpCase> build() {
  Table t;
  elementwise(t);
  concat(t);
  upsample(t);
  dropout(t);
  one_hot_cases(t);
  instance_norm_cases(t);
  dice(t);
  spectral(t);
  conv(t);
  return t.take();
}

}  // namespace

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = build();
  return cases;
}

Tensor draw(const Input& in, DType t, Generator& gen) {
  switch (in.fill) {
    case Fill::Normal: {
      const Tensor x = rand_normal(in.shape, gen, t);
      return in.stddev == 1 ? x : scale(x, in.stddev);
    }
    case Fill::Awkward: {
      std::vector<double> v = rand_normal(in.shape, gen, DType::F64).to_vector();
      for (size_t i = 0; i < v.size(); ++i) {
        if (i % 7 == 3) v[i] = 0;
        if (i % 11 == 5) v[i] = v[i] < 0 ? -40 : 40;
      }
      return Tensor::from_vector(v, in.shape).to(t);
    }
    case Fill::Shifted: {
      std::vector<double> v = rand_normal(in.shape, gen, DType::F64).to_vector();
      const int64_t s = in.shape.numel_from(2), ch = in.shape[1];
      for (int64_t n = 0; n < in.shape[0]; ++n)
        for (int64_t i = 0; i < s; ++i) v[size_t((n * ch + 1) * s + i)] += 50;
      for (int64_t i = 0; i < s; ++i) v[size_t(i)] = 0.7;
      return Tensor::from_vector(v, in.shape).to(t);
    }
    case Fill::Labels: return uniform_labels(in.shape, in.classes, gen);
    case Fill::OneHot: return one_hot(uniform_labels(in.shape, in.present, gen), in.classes).to(t);
  }
  return Tensor();
}

std::vector<Tensor> draw_inputs(const OpCase& c, DType t, Generator& gen) {
  std::vector<Tensor> out;
  for (const Input& in : c.inputs) {
    Tensor x = draw(in, t, gen);
    if (in.grad && in.fill != Fill::Labels) x.set_requires_grad(true);
    out.push_back(x);
  }
  return out;
}

}  // namespace fdl
