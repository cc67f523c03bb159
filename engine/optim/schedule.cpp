#include "engine/optim/schedule.h"

#include <cmath>

#include "kernels/common/error.h"

namespace fdl {

double poly_lr(double lr0, int64_t epoch, int64_t max_epochs, double exponent) {
  FDL_CHECK(max_epochs >= 1, "poly_lr: max_epochs ", max_epochs, " must be at least 1");
  FDL_CHECK(epoch >= 0 && epoch <= max_epochs, "poly_lr: epoch ", epoch, " lies outside 0..",
            max_epochs);
  FDL_CHECK(std::isfinite(lr0) && lr0 >= 0 && std::isfinite(exponent) && exponent >= 0,
            "poly_lr: lr0 ", lr0, " and exponent ", exponent, " must be finite and non-negative");
  return lr0 * std::pow(1.0 - double(epoch) / double(max_epochs), exponent);
}

}  // namespace fdl
