#pragma once
// Channel dropout (PyTorch Dropout3d) with autograd.
#include "engine/random.h"
#include "engine/tensor.h"

namespace fdl {

// x: (N, C, X, Y, Z). In training, each (n, c) channel is zeroed with probability p and the
// survivors are scaled by 1/(1-p). The mask takes N*C numbers from gen's Philox stream
// (gen.reserve(N*C)): channel i = n*C + c survives iff its uniform is >= p. When !training
// or p == 0 it returns x itself and leaves gen untouched. p must be in [0, 1).
Tensor dropout3d(const Tensor& x, double p, bool training, Generator& gen);

}  // namespace fdl
