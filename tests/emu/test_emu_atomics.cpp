// The emulator's atomics: many threads of many blocks on one word give exact totals.
#include <algorithm>
#include <vector>

#include "tests/emu/emu_test.h"

namespace fdl::emu_test {
namespace {

constexpr int kBlocks = 6, kThreads = 96, kTotal = kBlocks * kThreads;

struct Counters {
  int add_one, add_id, sub, max, min, cas_sum, claimed, winners;
  float add_float;
};

// A value per thread spread over negative and positive numbers, never in order of id.
__host__ __device__ int scatter(int id) { return (id * 37) % 1001 - 500; }

// A barrier halfway makes the threads of a block interleave their updates.
__global__ void atomics(Counters* c, int* exchanged, int* slot) {
  const int id = int(blockIdx.x * blockDim.x + threadIdx.x);
  atomicAdd(&c->add_one, 1);
  atomicAdd(&c->add_float, 1.0f);
  __syncthreads();
  atomicAdd(&c->add_id, id);
  atomicSub(&c->sub, 3);
  atomicMax(&c->max, scatter(id));
  atomicMin(&c->min, scatter(id));
  // An add of 2 written as a compare-and-swap loop.
  int old = c->cas_sum, seen;
  while ((seen = atomicCAS(&c->cas_sum, old, old + 2)) != old) old = seen;
  // Only the first compare-and-swap on an unclaimed word wins.
  if (atomicCAS(&c->claimed, -1, id) == -1) atomicAdd(&c->winners, 1);
  exchanged[id] = atomicExch(slot, id);
}

TEST_CASE("emu atomics: add sub max min cas and exch from every thread of every block") {
  int max = -1000, min = 1000;
  for (int id = 0; id < kTotal; ++id)
    max = std::max(max, scatter(id)), min = std::min(min, scatter(id));
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    DeviceBuffer<Counters> c(1, Counters{0, 0, 100, -1000, 1000, 0, -1, 0, 0.0f});
    DeviceBuffer<int> exchanged(kTotal, -2), slot(1, -1);
    REQUIRE(launch("atomics", atomics, kBlocks, kThreads, 0, c.get(), exchanged.get(),
                   slot.get()) == cudaSuccess);
    const Counters h = c.host()[0];
    CHECK(h.add_one == kTotal);
    CHECK(h.add_float == float(kTotal));  // integers below 2^24: every partial sum is exact
    CHECK(h.add_id == kTotal * (kTotal - 1) / 2);
    CHECK(h.sub == 100 - 3 * kTotal);
    CHECK(h.max == max);
    CHECK(h.min == min);
    CHECK(h.cas_sum == 2 * kTotal);
    CHECK(h.winners == 1);
    CHECK((h.claimed >= 0 && h.claimed < kTotal));
    // Exchanges form one chain: the values handed back plus the last one left in the slot
    // are the initial -1 and every id, each once.
    std::vector<int> seen = exchanged.host();
    seen.push_back(slot.host()[0]);
    std::sort(seen.begin(), seen.end());
    std::vector<int> want(kTotal + 1);
    for (int i = 0; i <= kTotal; ++i) want[size_t(i)] = i - 1;
    CHECK(seen == want);
  }
}

}  // namespace
}  // namespace fdl::emu_test
