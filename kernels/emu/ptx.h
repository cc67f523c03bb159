#pragma once
// The emulator's PTX instructions (the declarations of kernels/common/ptx.h), each written
// from the PTX ISA's definition, independently of the kernels' own fragment maps, so that
// a wrong map in a kernel gives a wrong product here as on the device.
#include <cstdint>

namespace fdl::ptx {

// cvt.rna.tf32.f32
uint32_t cvt_rna_tf32(float f);

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, a warp collective over all 32
// lanes. The device ignores the low 13 bits of each .tf32 operand, and so does this; the
// products are exact in FP32 and are added in order of k, which real tensor cores need
// not do (their rounding of the sum is not specified).
void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);

}  // namespace fdl::ptx
