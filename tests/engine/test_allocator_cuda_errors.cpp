// How the CUDA allocator fails where no GPU can serve it, checked on machines without one
// (the GPU suite covers the device itself): the error names the cause, the CUDA runtime's
// or the missing backend, and never passes for "out of memory", which would send whoever
// reads it after a faulting kernel down the wrong path.
#include <doctest/doctest.h>

#include <string>

#include "engine/allocator.h"
#include "engine/device.h"
#include "engine/tensor.h"

using namespace fdl;

TEST_CASE("allocator: a cuda allocation that cannot succeed names its cause, not memory") {
  if (cuda_available()) return;
  const size_t in_use = Allocator::get(Device::CUDA).stats().in_use;
  std::string msg;
  try {
    Tensor::empty({16}, DType::F32, Device::CUDA);
  } catch (const Error& e) {
    msg = e.what();
  }
  INFO("message: ", msg);
  REQUIRE(!msg.empty());
  CHECK(msg.find("out of memory") == std::string::npos);
  CHECK(msg.find("cuda") != std::string::npos);
  CHECK(Allocator::get(Device::CUDA).stats().in_use == in_use);
}
