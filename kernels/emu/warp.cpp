// The warp collectives' results, computed once every lane of the mask has arrived.
#include <cstdio>
#include <string>

#include "kernels/emu/device.h"

namespace fdl::emu::detail {

int shuffle_source(const char* op, int mode, int lane, int arg, int width) {
  if (width < 1 || width > 32 || (width & (width - 1)) != 0)
    trap((std::string(op) + ": width " + std::to_string(width) + " is not a power of two up to 32")
             .c_str());
  const int base = lane & ~(width - 1), pos = lane - base;
  switch (mode) {
    case kShflIdx: return base + (arg & (width - 1));
    case kShflUp: return pos - arg >= 0 ? lane - arg : lane;
    case kShflDown: return pos + arg < width ? lane + arg : lane;
    default: {  // xor: a lane past the segment's end gives the caller its own value
      const int src = lane ^ arg;
      return src < base + width ? src : lane;
    }
  }
}

void resolve_shuffle(unsigned mask, const Lane (&in)[32], Lane (&out)[32]) {
  for (int l = 0; l < 32; ++l) {
    if (!(mask >> l & 1)) continue;
    const int src = in[l].arg;
    if (src < 0 || src > 31 || !(mask >> src & 1)) {
      char buf[120];
      std::snprintf(buf, sizeof buf, "lane %d shuffles from lane %d, outside the mask 0x%08x", l,
                    src, mask);
      trap(buf);
    }
    out[l] = in[src];
  }
}

void resolve_ballot(unsigned mask, const Lane (&in)[32], Lane (&out)[32]) {
  uint32_t bits = 0;
  for (int l = 0; l < 32; ++l)
    if ((mask >> l & 1) && in[l].w[0]) bits |= 1u << l;
  for (int l = 0; l < 32; ++l) out[l].w[0] = bits;
}

namespace {
uint32_t ballot(const char* op, unsigned mask, int predicate) {
  Lane in{};
  in.w[0] = predicate != 0;
  return warp_collective(mask, op, in, resolve_ballot).w[0];
}
}  // namespace

}  // namespace fdl::emu::detail

unsigned __ballot_sync(unsigned mask, int predicate) {
  return fdl::emu::detail::ballot("__ballot_sync", mask, predicate);
}
int __all_sync(unsigned mask, int predicate) {
  return fdl::emu::detail::ballot("__all_sync", mask, predicate) == mask;
}
int __any_sync(unsigned mask, int predicate) {
  return fdl::emu::detail::ballot("__any_sync", mask, predicate) != 0;
}
void __syncwarp(unsigned mask) { fdl::emu::detail::ballot("__syncwarp", mask, 0); }
