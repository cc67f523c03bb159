#pragma once
// NIfTI-1/2 volumes (.nii, .nii.gz) through nifti_clib. A volume's tensor is float32 in
// NIfTI voxel order (i, j, k), the (X, Y, Z) axes of docs/method.md §1.2, row-major:
// (X, Y, Z), or (C, X, Y, Z) for a 4-D file whose 4th axis holds channels (channels first in
// memory).
#include <array>
#include <string>

#include "engine/tensor.h"

namespace fdl {

using Affine = std::array<std::array<double, 4>, 4>;

struct Volume {
  Tensor data;  // float32 (X, Y, Z) or (C, X, Y, Z); scl_slope/inter applied
  std::array<double, 3> spacing{1, 1, 1};  // voxel size (pixdim 1..3)
  Affine affine{};  // voxel (i, j, k) -> world: the sform if set, else the qform, else
                    // nibabel's fallback diag(-dx, dy, dz) centred on the grid
  // What it takes to write the header back as it was.
  Affine qform{}, sform{};
  int qform_code = 0, sform_code = 0;
  int xyz_units = 0, time_units = 0;
};

// .nii or .nii.gz; uint8, int8, int16, uint16, int32, float32 and float64 voxels. Errors name
// the file: unreadable, not NIfTI, truncated, or with dimensions fdl cannot use.
Volume read_nifti(const std::string& path);

// The grid of a file without its voxels: (X, Y, Z) and the voxel size, checked as read_nifti
// checks them.
struct NiftiHeader {
  std::array<int64_t, 3> shape{};
  std::array<double, 3> spacing{1, 1, 1};
};
NiftiHeader read_nifti_header(const std::string& path);

enum class NiftiOutType { Float32, UInt8 };  // UInt8 rounds and clamps to [0, 255]

// Writes `data` ((X, Y, Z) or (C, X, Y, Z), any float dtype and device) with the geometry of
// `header` (its data is ignored): qform and sform with their codes, units, voxel size. The
// file is NIfTI-1, gzipped when the path ends in .gz, and is written by write_file_atomic
// (atomic_file.h): it appears whole or not at all, and a failed write is an error.
void write_nifti(const std::string& path, const Tensor& data, const Volume& header,
                 NiftiOutType type = NiftiOutType::Float32);

// The header of a new grid over the same space: voxel (i, j, k) of the new grid sits at
// voxel (scale * (i, j, k) + shift) of the old one. Composes the affine, qform and sform and
// scales the spacing. A header without qform or sform gets its fallback affine as an sform
// (code 2, aligned), since the fallback of the new grid would differ.
Volume regrid_header(const Volume& header, std::array<double, 3> scale,
                     std::array<double, 3> shift);

}  // namespace fdl
