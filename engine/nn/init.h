#pragma once
// PyTorch's default initialisation of convolutions, drawn from fdl's own Philox stream (the
// distribution is PyTorch's; the values are not).
#include <cstdint>

#include "engine/random.h"
#include "engine/tensor.h"

namespace fdl {

// Cin * k^3 for a conv weight (Cout, Cin, kx, ky, kz).
int64_t conv_fan_in(const Tensor& w);

// kaiming_uniform(a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), in place.
void kaiming_uniform_conv_(Tensor& w, Generator& g);

// The default conv bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in.
void conv_bias_uniform_(Tensor& b, const Tensor& w, Generator& g);

}  // namespace fdl
