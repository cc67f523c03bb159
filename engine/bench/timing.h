#pragma once
// Wall-clock timing for `fdl bench`: one warm-up call, then the median of `repeat` calls.
#include <algorithm>
#include <chrono>
#include <vector>

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

}  // namespace fdl::bench
