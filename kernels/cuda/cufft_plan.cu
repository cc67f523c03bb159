#include <cufft.h>

#include <map>
#include <mutex>
#include <tuple>

#include "kernels/common/error.h"
#include "kernels/cuda/cufft_plan.h"
#include "kernels/cuda/runtime.h"

namespace fdl::kernels::cuda {

namespace {

const char* cufft_error(cufftResult r) {
  switch (r) {
    case CUFFT_SUCCESS: return "success";
    case CUFFT_INVALID_PLAN: return "invalid plan";
    case CUFFT_ALLOC_FAILED: return "allocation failed";
    case CUFFT_INVALID_VALUE: return "invalid value";
    case CUFFT_INTERNAL_ERROR: return "internal error";
    case CUFFT_EXEC_FAILED: return "execution failed";
    case CUFFT_SETUP_FAILED: return "setup failed";
    case CUFFT_INVALID_SIZE: return "invalid size";
    default: return "error";
  }
}

#define FDL_CUFFT(call, ...)                                                                       \
  do {                                                                                             \
    const cufftResult r_ = (call);                                                                 \
    FDL_CHECK(r_ == CUFFT_SUCCESS, "fft (cuda): ", #call, " failed (", cufft_error(r_), ", code ", \
              int(r_), ") ", __VA_ARGS__);                                                         \
  } while (0)

struct Plan {
  cufftHandle handle = 0;
  size_t work = 0;
};

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool>;  // dims, batch, fwd, double

std::mutex& mutex() {
  static std::mutex mu;
  return mu;
}

// Call with mutex() held. Plans live until exit.
Plan& plan_for(const std::array<int64_t, 3>& d, int64_t batch, bool forward, bool dbl) {
  static std::map<Key, Plan> cache;
  const Key key{d[0], d[1], d[2], batch, forward, dbl};
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  FDL_CHECK(d[0] > 0 && d[1] > 0 && d[2] > 0 && batch > 0, "fft (cuda): empty transform ", d[0],
            "x", d[1], "x", d[2], ", batch ", batch);
  long long n[3] = {d[0], d[1], d[2]};
  const long long real = d[0] * d[1] * d[2], half = d[0] * d[1] * (d[2] / 2 + 1);
  const cufftType type = forward ? (dbl ? CUFFT_D2Z : CUFFT_R2C) : (dbl ? CUFFT_Z2D : CUFFT_C2R);
  Plan p;
  FDL_CUFFT(cufftCreate(&p.handle), "");
  FDL_CUFFT(cufftSetAutoAllocation(p.handle, 0), "");
  FDL_CUFFT(cufftSetStream(p.handle, stream()), "");
  const cufftResult r =
      cufftMakePlanMany64(p.handle, 3, n, nullptr, 1, forward ? real : half, nullptr, 1,
                          forward ? half : real, type, batch, &p.work);
  if (r != CUFFT_SUCCESS) {
    cufftDestroy(p.handle);
    FDL_CHECK(false, "fft (cuda): cannot plan a ", d[0], "x", d[1], "x", d[2],
              " transform of batch ", batch, " (", cufft_error(r), ")");
  }
  return cache.emplace(key, p).first->second;
}

}  // namespace

template <class T>
size_t fft_workspace_bytes(const std::array<int64_t, 3>& dims, int64_t batch, bool forward) {
  std::lock_guard<std::mutex> lock(mutex());
  return plan_for(dims, batch, forward, sizeof(T) == 8).work;
}

template <class T>
void rfft3(const T* in, T* out, const std::array<int64_t, 3>& dims, int64_t batch, void* work) {
  std::lock_guard<std::mutex> lock(mutex());
  Plan& p = plan_for(dims, batch, true, sizeof(T) == 8);
  FDL_CUFFT(cufftSetWorkArea(p.handle, work), "");
  if constexpr (sizeof(T) == 8)
    FDL_CUFFT(cufftExecD2Z(p.handle, const_cast<double*>(reinterpret_cast<const double*>(in)),
                           reinterpret_cast<cufftDoubleComplex*>(out)),
              "");
  else
    FDL_CUFFT(cufftExecR2C(p.handle, const_cast<float*>(reinterpret_cast<const float*>(in)),
                           reinterpret_cast<cufftComplex*>(out)),
              "");
}

template <class T>
void irfft3(T* in, T* out, const std::array<int64_t, 3>& dims, int64_t batch, void* work) {
  std::lock_guard<std::mutex> lock(mutex());
  Plan& p = plan_for(dims, batch, false, sizeof(T) == 8);
  FDL_CUFFT(cufftSetWorkArea(p.handle, work), "");
  if constexpr (sizeof(T) == 8)
    FDL_CUFFT(cufftExecZ2D(p.handle, reinterpret_cast<cufftDoubleComplex*>(in),
                           reinterpret_cast<double*>(out)),
              "");
  else
    FDL_CUFFT(
        cufftExecC2R(p.handle, reinterpret_cast<cufftComplex*>(in), reinterpret_cast<float*>(out)),
        "");
}

template size_t fft_workspace_bytes<float>(const std::array<int64_t, 3>&, int64_t, bool);
template size_t fft_workspace_bytes<double>(const std::array<int64_t, 3>&, int64_t, bool);
template void rfft3<float>(const float*, float*, const std::array<int64_t, 3>&, int64_t, void*);
template void rfft3<double>(const double*, double*, const std::array<int64_t, 3>&, int64_t, void*);
template void irfft3<float>(float*, float*, const std::array<int64_t, 3>&, int64_t, void*);
template void irfft3<double>(double*, double*, const std::array<int64_t, 3>&, int64_t, void*);

}  // namespace fdl::kernels::cuda
