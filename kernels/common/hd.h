#pragma once
// Qualifiers for code shared by the CPU kernels, the CUDA kernels and the host tests.
//   FDL_HD            a function for both sides (inline on the host)
//   FDL_DEVICE_PASS   defined while compiling code as it runs on the device: nvcc's device
//                     pass, or the emulated CUDA target (kernels/emu), where every
//                     translation unit is compiled this way so that no inline function has
//                     two meanings in one program
#if defined(__CUDACC__)
#define FDL_HD __host__ __device__ __forceinline__
#else
#define FDL_HD inline
#endif

#if defined(__CUDA_ARCH__) || defined(FDL_CUDA_EMU)
#define FDL_DEVICE_PASS 1
#endif

#if defined(FDL_CUDA_EMU)
#include "kernels/emu/device.h"  // the device language (atomics, intrinsics) for the shared code
#endif
