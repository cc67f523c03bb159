#include "engine/nn/init.h"

#include <cmath>

#include "engine/ops/checks.h"

namespace fdl {

namespace {
void uniform_(Tensor& t, double bound, Generator& g) {
  t.copy_(rand_uniform(t.shape(), -bound, bound, g, t.dtype()));
}
}  // namespace

int64_t conv_fan_in(const Tensor& w) {
  ops::check_float(w, "conv_fan_in", "w");
  FDL_CHECK(w.ndim() >= 3, "conv_fan_in: a conv weight has at least 3 dimensions, got ",
            w.shape().str());
  return w.shape().numel_from(1);
}

void kaiming_uniform_conv_(Tensor& w, Generator& g) {
  uniform_(w, 1.0 / std::sqrt(double(conv_fan_in(w))), g);
}

void conv_bias_uniform_(Tensor& b, const Tensor& w, Generator& g) {
  ops::check_float(b, "conv_bias_uniform_", "b");
  FDL_CHECK(b.ndim() == 1 && b.size(0) == w.size(0), "conv_bias_uniform_: bias ", b.shape().str(),
            " does not match weight ", w.shape().str());
  uniform_(b, 1.0 / std::sqrt(double(conv_fan_in(w))), g);
}

}  // namespace fdl
