#pragma once
// A PNG montage for a quick look at predictions: one row per case, a few axial slices each,
// the image in grey (each slice windowed to its 1st..99th percentile) with the outlines of
// the ground truth in green and of the prediction in red (yellow where both run).
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace fdl::train {

struct MontageCase {
  Tensor image;  // float32 (X, Y, Z)
  Tensor label;  // int32 (X, Y, Z), 0 background
  Tensor pred;   // int32 (X, Y, Z)
};

// The slices of a case: those through the label's largest cross-section and the quartiles of
// its extent along Z (the middle and quartiles of the volume when the label is empty).
std::vector<int64_t> montage_slices(const Tensor& label, int count = 3);

// Writes the montage atomically. Axial slices show X left to right and Y bottom to top; each
// panel is zoomed by an integer factor to about 160 pixels. An outline is drawn along every
// voxel edge between two different classes, inside the foreground voxel.
void write_montage_png(const std::string& path, const std::vector<MontageCase>& cases,
                       int slices = 3);

}  // namespace fdl::train
