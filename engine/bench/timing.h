#pragma once
// Wall-clock timing for `fdl bench`: one warm-up call, then the median of `repeat` calls.
#include <algorithm>
#include <chrono>
#include <vector>

#include "engine/device.h"

namespace fdl::bench {

template <class F>
double median_seconds(F&& f, int repeat) {
  f();  // warm-up: first-touch pages, caches, FFT plans
  std::vector<double> t;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The same for work queued on the GPU: every call ends by waiting for the queue, so the
// clock starts on an idle GPU and stops when the call's kernels have finished.
template <class F>
double median_device_seconds(F&& f, int repeat) {
  device_synchronize();
  return median_seconds(
      [&] {
        f();
        device_synchronize();
      },
      repeat);
}

}  // namespace fdl::bench
