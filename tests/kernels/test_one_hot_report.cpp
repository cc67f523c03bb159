// kernels/common/one_hot.h: reading the CUDA one_hot's bad-label report on the host.
#include <doctest/doctest.h>

#include <cstring>
#include <initializer_list>

#include "kernels/common/one_hot.h"

using namespace fdl;

TEST_CASE("one_hot report: all ones means no bad label; otherwise the index and the value") {
  int32_t words[kernels::kOneHotReportWords];
  std::memset(words, 0xFF, sizeof words);  // what the kernel clears the report to
  CHECK(kernels::read_one_hot_report(words).index == -1);

  for (unsigned long long index : {0ull, 41ull, (1ull << 33) + 5}) {
    CAPTURE(index);
    std::memcpy(words, &index, sizeof index);
    words[2] = -7;
    const kernels::OneHotBadLabel r = kernels::read_one_hot_report(words);
    CHECK(r.index == int64_t(index));
    CHECK(r.value == -7);
  }
}
