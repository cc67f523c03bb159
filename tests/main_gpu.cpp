// The GPU suite. Without a CUDA device it says so and exits 77, which CTest reports as
// skipped (SKIP_RETURN_CODE), so no GPU test is ever counted as passed without running.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "engine/device.h"

int main(int argc, char** argv) {
  if (!fdl::cuda_available()) {
    std::printf("no CUDA device: the gpu tests are skipped\n");
    return 77;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
