#pragma once
// Every inline PTX instruction of the CUDA kernels, one device function each. The emulated
// target gives each its meaning from the PTX ISA (kernels/emu/ptx.h), so a kernel body
// reads the same whether nvcc or the host compiler builds it.
#include <cstdint>

#if defined(FDL_CUDA_EMU)
#include "kernels/emu/ptx.h"
#elif defined(__CUDACC__)
namespace fdl::ptx {

// cvt.rna.tf32.f32: f rounded to TF32 (10 mantissa bits, to nearest, ties away from zero).
__device__ __forceinline__ uint32_t cvt_rna_tf32(float f) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(f));
  return r;
}

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32: one lane's part of the warp's
// D = A * B + D (fragment layouts: kernels/common/mma_tf32.h). All 32 lanes must call it.
__device__ __forceinline__ void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4],
                                                 const uint32_t (&b)[2]) {
#if __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  __trap();  // TF32 tensor cores need sm_80 or newer
#endif
}

}  // namespace fdl::ptx
#endif
