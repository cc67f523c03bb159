// The emulator's warps: shuffles against the CUDA programming guide's definitions, votes and
// __syncwarp with partial masks, the faults of a wrong mask, and a warp of a partial block.
#include "tests/emu/emu_test.h"

namespace fdl::emu_test {
namespace {

constexpr unsigned kFull = 0xffffffffu;

// Two warps, so a shuffle that crossed warps would read the other warp's values.
constexpr int kThreads = 64;

__global__ void shuffles(int width, int arg, int* idx, int* up, int* down, int* xr) {
  const int t = int(threadIdx.x), v = 1000 + t;
  idx[t] = __shfl_sync(kFull, v, arg, width);
  up[t] = __shfl_up_sync(kFull, v, unsigned(arg), width);
  down[t] = __shfl_down_sync(kFull, v, unsigned(arg), width);
  xr[t] = __shfl_xor_sync(kFull, v, arg, width);
}

// The lane each shuffle reads, from the programming guide: the warp splits into segments of
// `width` lanes; __shfl_sync reads lane arg mod width of the caller's segment; up and down
// read delta lanes away and keep the caller's value past the segment's edge; xor reads
// lane ^ mask, and a lane in a later segment gives the caller its own value.
int guide_source(int mode, int lane, int arg, int width) {
  const int base = lane / width * width, pos = lane % width;
  switch (mode) {
    case 0: return base + arg % width;
    case 1: return pos - arg >= 0 ? lane - arg : lane;
    case 2: return pos + arg < width ? lane + arg : lane;
    default: return (lane ^ arg) >= base + width ? lane : lane ^ arg;
  }
}

TEST_CASE("emu warp: shfl idx up down and xor at every width match the guide") {
  int wrong = 0, cases = 0;
  for (int width : {1, 2, 4, 8, 16, 32})
    for (int arg : {0, 1, 3, 5, 8, 16, 31, 37}) {
      DeviceBuffer<int> idx(kThreads, 0), up(kThreads, 0), down(kThreads, 0), xr(kThreads, 0);
      REQUIRE(launch("shuffles", shuffles, 1, kThreads, 0, width, arg, idx.get(), up.get(),
                     down.get(), xr.get()) == cudaSuccess);
      const std::vector<int> got[4] = {idx.host(), up.host(), down.host(), xr.host()};
      for (int mode = 0; mode < 4; ++mode)
        for (int t = 0; t < kThreads; ++t, ++cases) {
          const int want = 1000 + t / 32 * 32 + guide_source(mode, t % 32, arg, width);
          if (got[mode][size_t(t)] != want) {
            ++wrong;
            MESSAGE("mode ", mode, " width ", width, " arg ", arg, " thread ", t, ": ",
                    got[mode][size_t(t)], " not ", want);
          }
        }
    }
  CHECK(cases == 6 * 8 * 4 * kThreads);
  CHECK(wrong == 0);
}

__global__ void bad_width(int* out) { out[threadIdx.x] = __shfl_xor_sync(kFull, 1, 1, 12); }

TEST_CASE("emu warp: a shuffle width that is not a power of two is a fault") {
  DeviceBuffer<int> out(32, 0);
  check_fault(launch("bad_width", bad_width, 1, 32, 0, out.get()), {"width 12"});
}

// Butterfly sum: after log2(32) xor steps every lane holds the warp's total.
__global__ void warp_sum(const int* in, int* out) {
  int v = in[threadIdx.x];
  for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(kFull, v, m);
  out[threadIdx.x] = v;
}

TEST_CASE("emu warp: an xor-shuffle reduction gives every lane its warp's sum") {
  std::vector<int> in(kThreads);
  for (int t = 0; t < kThreads; ++t) in[size_t(t)] = t * t - 7 * t;
  int sum[2] = {0, 0};
  for (int t = 0; t < kThreads; ++t) sum[t / 32] += in[size_t(t)];
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    DeviceBuffer<int> d_in(in), out(kThreads, 0);
    REQUIRE(launch("warp_sum", warp_sum, 1, kThreads, 0, d_in.get(), out.get()) == cudaSuccess);
    const std::vector<int> h = out.host();
    for (int t = 0; t < kThreads; ++t) CHECK(h[size_t(t)] == sum[t / 32]);
  }
}

// Only the even lanes vote; the odd lanes' predicates must not count.
constexpr unsigned kEven = 0x55555555u;
__global__ void even_votes(const int* pred, unsigned* out) {
  const unsigned t = threadIdx.x;
  unsigned* o = out + 4 * t;
  if (t % 2 == 0) {
    o[0] = __ballot_sync(kEven, pred[t]);
    o[1] = unsigned(__all_sync(kEven, pred[t]));
    o[2] = unsigned(__any_sync(kEven, pred[t]));
    __syncwarp(kEven);
    o[3] = 1;
  }
}

TEST_CASE("emu warp: ballot all any and syncwarp over the even lanes only") {
  struct Case {
    int (*pred)(int lane);
    unsigned ballot, all, any;
  };
  const Case cases[] = {
      {[](int l) { return int(l % 2 == 0); }, kEven, 1, 1},
      {[](int l) { return int(l % 4 == 0); }, 0x11111111u, 0, 1},
      {[](int l) { return l % 2; }, 0u, 0, 0},  // every odd lane true, every voter false
      {[](int l) { return int(l == 6) * 5; }, 1u << 6, 0, 1},  // any nonzero predicate counts
  };
  for (const Case& c : cases)
    for (Schedule s : kOrders) {
      INFO(emu::schedule_name(s), " expecting ballot ", c.ballot);
      ScheduleScope scope(s);
      std::vector<int> pred(32);
      for (int l = 0; l < 32; ++l) pred[size_t(l)] = c.pred(l);
      DeviceBuffer<int> d_pred(pred);
      DeviceBuffer<unsigned> out(4 * 32, 7u);
      REQUIRE(launch("even_votes", even_votes, 1, 32, 0, d_pred.get(), out.get()) == cudaSuccess);
      const std::vector<unsigned> h = out.host();
      for (int l = 0; l < 32; ++l) {
        const unsigned* o = &h[size_t(4 * l)];
        if (l % 2) {
          CHECK((o[0] == 7u && o[3] == 7u));
        } else {
          CHECK(o[0] == c.ballot);
          CHECK(o[1] == c.all);
          CHECK(o[2] == c.any);
          CHECK(o[3] == 1u);
        }
      }
    }
}

// Odd and even lanes diverge and each half votes among itself: two collectives with
// disjoint masks in flight at once in one warp, which independent thread scheduling allows.
__global__ void split_votes(unsigned* out) {
  const unsigned t = threadIdx.x;
  if (t % 2)
    out[t] = __ballot_sync(~kEven, t % 3 == 0);
  else
    out[t] = __ballot_sync(kEven, t % 3 == 0);
}

TEST_CASE("emu warp: collectives with disjoint masks in divergent branches run side by side") {
  unsigned odd = 0, even = 0;
  for (unsigned l = 0; l < 32; ++l)
    if (l % 3 == 0) (l % 2 ? odd : even) |= 1u << l;
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    DeviceBuffer<unsigned> out(32, 0u);
    REQUIRE(launch("split_votes", split_votes, 1, 32, 0, out.get()) == cudaSuccess);
    const std::vector<unsigned> h = out.host();
    for (unsigned l = 0; l < 32; ++l) CHECK(h[l] == (l % 2 ? odd : even));
  }
}

__global__ void overlapping_masks(unsigned* out) {
  const unsigned t = threadIdx.x;
  out[t] = __ballot_sync(t < 16 ? 0x0000ffffu : 0x00ffff00u, 1);
}

TEST_CASE("emu warp: lanes whose masks overlap but differ are a fault") {
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    DeviceBuffer<unsigned> out(32, 0u);
    check_fault(launch("overlapping_masks", overlapping_masks, 1, 32, 0, out.get()),
                {"kernel 'overlapping_masks'", "__ballot_sync"});
  }
}

__global__ void shuffle_outside_mask(int* out) {
  const int lane = int(threadIdx.x);
  if (lane < 4) out[lane] = __shfl_sync(0xfu, lane, 5);
}

TEST_CASE("emu warp: a shuffle from a lane outside its mask is a fault") {
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    DeviceBuffer<int> out(32, 0);
    check_fault(launch("shuffle_outside_mask", shuffle_outside_mask, 1, 32, 0, out.get()),
                {"kernel 'shuffle_outside_mask'", "shuffles from lane 5, outside the mask"});
  }
}

__global__ void mask_names_exited_lane(int* out) {
  const int lane = int(threadIdx.x);
  if (lane == 3 || lane >= 4) return;
  __syncwarp(0xfu);
  out[lane] = 1;
}

__global__ void mask_leaves_out_caller(int* out) { out[threadIdx.x] = __any_sync(0xfffffffeu, 1); }

TEST_CASE("emu warp: a mask naming an exited lane or leaving out the caller is a fault") {
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    DeviceBuffer<int> out(32, 0);
    check_fault(launch("mask_names_exited_lane", mask_names_exited_lane, 1, 32, 0, out.get()),
                {"cannot go on", "__syncwarp (mask 0x0000000f) for lanes 0x00000008 that exited"});
    check_fault(launch("mask_leaves_out_caller", mask_leaves_out_caller, 1, 32, 0, out.get()),
                {"leaves out the calling lane 0"});
  }
}

// A 48-thread block: warp 1 has lanes 0..15 only. __activemask is the lanes of the warp
// that have not exited: the emulator cannot know which lanes the device would have
// converged at the call, so in divergent code it may name more lanes than the device
// would, and a collective over that mask then faults rather than passing silently.
__global__ void partial_warp(unsigned* active, int* sum) {
  const unsigned t = threadIdx.x;
  const unsigned mask = __activemask();
  active[t] = mask;
  int v = int(t);
  for (int d = 16; d > 0; d /= 2) v += __shfl_xor_sync(mask, v, d, t < 32 ? 32 : 16);
  sum[t] = v;
}

__global__ void full_mask_in_partial_warp(int* out) {
  out[threadIdx.x] = int(__ballot_sync(kFull, 1));
}

TEST_CASE("emu warp: the last warp of a 48-thread block has 16 lanes") {
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    DeviceBuffer<unsigned> active(48, 0u);
    DeviceBuffer<int> sum(48, 0);
    REQUIRE(launch("partial_warp", partial_warp, 1, 48, 0, active.get(), sum.get()) == cudaSuccess);
    const std::vector<unsigned> a = active.host();
    const std::vector<int> h = sum.host();
    for (int t = 0; t < 48; ++t) {
      CHECK(a[size_t(t)] == (t < 32 ? kFull : 0xffffu));
      // Warp 0 sums 0..31. In warp 1 the width-16 xor by 16 would read past the segment,
      // so it doubles each lane's own value; 8..1 then sum the doubled 32..47.
      CHECK(h[size_t(t)] == (t < 32 ? 31 * 32 / 2 : 2 * (32 + 47) * 16 / 2));
    }
  }
  DeviceBuffer<int> out(48, 0);
  check_fault(launch("full_mask_in_partial_warp", full_mask_in_partial_warp, 1, 48, 0, out.get()),
              {"names lanes the warp does not have (0x0000ffff)"});
}

}  // namespace
}  // namespace fdl::emu_test
