#pragma once
// A tap on the U-Net's activations, for tests that compare two devices' forward passes. A
// leaky ReLU is piecewise linear: where a pre-activation lies within rounding of zero, two
// devices may put it on different sides of the kink, and every gradient upstream of it
// moves by ~1/sqrt(voxels). A test that sees the signs of every activation on both devices
// can tell such a flip from a wrong kernel. When a tap is set, every leaky ReLU output
// (plain or fused with instance norm) is handed to it as it is made; off, it costs a branch.
#include <functional>

#include "engine/tensor.h"

namespace fdl {

using ActivationTap = std::function<void(const Tensor& y)>;
void set_activation_tap(ActivationTap tap);  // an empty one removes it

namespace ops {
void tap_activation(const Tensor& y);  // called by the activation ops
}  // namespace ops

}  // namespace fdl
