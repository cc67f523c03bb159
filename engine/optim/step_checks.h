#pragma once
// The checks an optimiser's step makes before it changes anything, shared by Adam and Sgd so
// both refuse the same mistakes with the same words.
#include <string>

#include "engine/tensor.h"

namespace fdl::optim {

// Whether `param` has a gradient to apply, after checking that it is on the device of `first`
// (the optimiser's first parameter) and that its gradient, if any, matches it in shape, dtype
// and device. Otherwise an fdl::Error that starts with `who` and names the parameter.
bool has_step_gradient(const char* who, const std::string& name, const Tensor& param,
                       const std::string& first_name, const Tensor& first);

// An fdl::Error when the parameters are on cuda in a build without the CUDA backend.
void check_step_device(const char* who, bool on_cuda);

}  // namespace fdl::optim
