#include "tests/gpu/conv_reference.h"

#include <algorithm>
#include <cmath>

#include "engine/ops/conv3d.h"

namespace fdl::gpu_test {

double round_tf32(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  int e;
  std::frexp(v, &e);  // |v| in [2^(e-1), 2^e)
  // The last kept bit of a float32 normal number in that binade is worth 2^(e-11); below
  // the normal range (e < -125) the exponent stops and the step stays 2^-136.
  const int q = std::max(e, -125) - 11;
  return std::ldexp(std::round(std::ldexp(v, -q)), q);  // std::round: ties away from zero
}

double gamma_k(int64_t k, double u) {
  const double ku = double(k) * u;
  return ku / (1 - ku);
}

ConvPasses conv_passes(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy,
                       int stride, int pad) {
  const Device d = x.device();
  Tensor xl = x.clone(), wl = w.clone();
  xl.set_requires_grad(true);
  wl.set_requires_grad(true);
  const Tensor y = conv3d(xl, wl, b, stride, pad);
  y.backward(gy.to(d));
  return {y.to_vector(), xl.grad().to_vector(), wl.grad().to_vector()};
}

namespace {
// A float64 CPU copy of t with f applied to each value.
template <class F>
Tensor map64(const Tensor& t, F f) {
  if (!t.defined()) return t;
  std::vector<double> v = t.to_vector();
  for (double& e : v) e = f(e);
  return Tensor::from_vector(v, t.shape());
}
}  // namespace

ConvReference conv_reference(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy,
                             int stride, int pad, bool tf32) {
  auto in = [tf32](double v) { return tf32 ? round_tf32(v) : v; };
  auto mag = [tf32](double v) { return std::fabs(tf32 ? round_tf32(v) : v); };
  auto same = [](double v) { return v; };
  auto abs = [](double v) { return std::fabs(v); };
  ConvReference r;
  r.value = conv_passes(map64(x, in), map64(w, in), map64(b, same), map64(gy, in), stride, pad);
  r.magnitude =
      conv_passes(map64(x, mag), map64(w, mag), map64(b, abs), map64(gy, mag), stride, pad);
  return r;
}

ElementCheck check_elements(const std::vector<double>& got, const std::vector<double>& want,
                            const std::vector<double>& magnitude, double bound_per_magnitude) {
  ElementCheck c;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - want[i]), bound = bound_per_magnitude * magnitude[i];
    if (!(err <= bound)) c.bad.push_back(int64_t(i));
    if (bound > 0) c.worst = std::max(c.worst, err / bound);
  }
  return c;
}

}  // namespace fdl::gpu_test
