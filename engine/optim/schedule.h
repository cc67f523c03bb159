#pragma once
// Learning-rate schedules: the learning rate an optimiser is given (set_lr) before each epoch.
#include <cstdint>

namespace fdl {

// nnU-Net's poly schedule (PolyLRScheduler, stepped with the 0-based epoch at the start of each
// epoch): lr0 (1 - epoch / max_epochs)^exponent. Epoch 0 trains at lr0, the last epoch
// (max_epochs - 1) at lr0 (1 / max_epochs)^exponent; epoch == max_epochs gives 0. An epoch outside
// 0..max_epochs, max_epochs < 1, or a negative or non-finite lr0 or exponent is an fdl::Error.
double poly_lr(double lr0, int64_t epoch, int64_t max_epochs, double exponent = 0.9);

}  // namespace fdl
