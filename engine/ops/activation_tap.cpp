#include "engine/ops/activation_tap.h"

#include <utility>

namespace fdl {

namespace {
ActivationTap g_tap;
}  // namespace

void set_activation_tap(ActivationTap tap) { g_tap = std::move(tap); }

namespace ops {
void tap_activation(const Tensor& y) {
  if (g_tap) g_tap(y);
}
}  // namespace ops

}  // namespace fdl
