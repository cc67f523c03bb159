#pragma once
// The emulated cuFFT: the plan-many real transforms fdl uses, backed by FFTW with cuFFT's
// layouts (row-major, the last dimension halved in the complex array) and normalisation
// (none, in either direction). Found before the toolkit's headers by the emulated target.
#include <cstddef>

#include "kernels/emu/include/cuda_runtime.h"

enum cufftResult {
  CUFFT_SUCCESS = 0,
  CUFFT_INVALID_PLAN = 1,
  CUFFT_ALLOC_FAILED = 2,
  CUFFT_INVALID_TYPE = 3,
  CUFFT_INVALID_VALUE = 4,
  CUFFT_INTERNAL_ERROR = 5,
  CUFFT_EXEC_FAILED = 6,
  CUFFT_SETUP_FAILED = 7,
  CUFFT_INVALID_SIZE = 8,
};

enum cufftType {
  CUFFT_R2C = 0x2a,
  CUFFT_C2R = 0x2c,
  CUFFT_D2Z = 0x6a,
  CUFFT_Z2D = 0x6c,
};

using cufftHandle = int;
struct cufftComplex {
  float x, y;
};
struct cufftDoubleComplex {
  double x, y;
};
using cufftReal = float;
using cufftDoubleReal = double;

cufftResult cufftCreate(cufftHandle* plan);
cufftResult cufftDestroy(cufftHandle plan);
cufftResult cufftSetStream(cufftHandle plan, cudaStream_t stream);
cufftResult cufftSetAutoAllocation(cufftHandle plan, int auto_allocate);
cufftResult cufftSetWorkArea(cufftHandle plan, void* work);
// Only what fdl plans: contiguous batches (inembed and onembed null, strides 1).
cufftResult cufftMakePlanMany64(cufftHandle plan, int rank, long long* n, long long* inembed,
                                long long istride, long long idist, long long* onembed,
                                long long ostride, long long odist, cufftType type, long long batch,
                                size_t* work_size);
cufftResult cufftExecR2C(cufftHandle plan, cufftReal* in, cufftComplex* out);
cufftResult cufftExecC2R(cufftHandle plan, cufftComplex* in, cufftReal* out);
cufftResult cufftExecD2Z(cufftHandle plan, cufftDoubleReal* in, cufftDoubleComplex* out);
cufftResult cufftExecZ2D(cufftHandle plan, cufftDoubleComplex* in, cufftDoubleReal* out);
