#pragma once
// The report of the CUDA one_hot kernel on bad labels, and its reading on the host. The
// kernel cannot throw, so it records the smallest flat index of a label outside [0, k) with
// an atomic min, then that label's value; the engine copies the report back (the op's one
// synchronisation: it guards user data) and raises the same error as the CPU path.
#include <cstdint>
#include <cstring>

namespace fdl::kernels {

// Words (int32) of the report: 0-1 hold the index as one uint64 (all ones: no bad label),
// word 2 that label's value; word 3 pads to 16 bytes.
constexpr int kOneHotReportWords = 4;
constexpr unsigned long long kOneHotNoBadLabel = ~0ull;

struct OneHotBadLabel {
  int64_t index = -1;  // -1 when every label was valid
  int32_t value = 0;
};

inline OneHotBadLabel read_one_hot_report(const int32_t* words) {
  unsigned long long index = 0;
  std::memcpy(&index, words, sizeof index);
  OneHotBadLabel r;
  if (index != kOneHotNoBadLabel) {
    r.index = int64_t(index);
    r.value = words[2];
  }
  return r;
}

}  // namespace fdl::kernels
