// cuFFT's plan-many real transforms over FFTW. A plan is made at its first execution (FFTW
// plans per array alignment; FFTW_UNALIGNED keeps one plan valid for any arrays).
#include "kernels/emu/include/cufft.h"

#include <fftw3.h>

#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "kernels/cpu/fft.h"

namespace {

// Bytes the emulated plan asks for as its work area; execution fills them, so a caller
// that hands it a smaller or freed buffer is caught (by ASan, or the allocator's guards).
constexpr size_t kWorkBytes = 1024;

struct Plan {
  std::vector<int> n;
  long long idist = 0, odist = 0, batch = 0;
  cufftType type = CUFFT_R2C;
  bool made = false, auto_allocate = true;
  void* work = nullptr;
  fftwf_plan single = nullptr;
  fftw_plan dbl = nullptr;
};

void destroy_fftw(Plan& p) {
  std::lock_guard<std::mutex> lock(fdl::kernels::cpu::fftw_planner_mutex());
  if (p.single) fftwf_destroy_plan(p.single);
  if (p.dbl) fftw_destroy_plan(p.dbl);
  p.single = nullptr;
  p.dbl = nullptr;
}

// The live plans; those never destroyed (a cache that lives until exit) are destroyed at
// exit, so a leak checker sees none.
struct PlanTable : std::map<cufftHandle, Plan> {
  ~PlanTable() {
    for (auto& kv : *this) destroy_fftw(kv.second);
  }
};

std::mutex g_mu;
PlanTable g_plans;
cufftHandle g_next = 1;

Plan* find(cufftHandle h) {
  auto it = g_plans.find(h);
  return it == g_plans.end() ? nullptr : &it->second;
}

// Makes an FFTW plan under the planner's mutex (shared with the CPU's FFT).
template <class MakeFftw>
auto plan_fftw(MakeFftw&& make) {
  std::lock_guard<std::mutex> lock(fdl::kernels::cpu::fftw_planner_mutex());
  return make();
}

// Runs `exec` on plan h's FFTW plan, made on first use from the arrays given.
template <class Make, class Exec>
cufftResult execute(cufftHandle h, cufftType type, Make&& make, Exec&& exec) {
  std::lock_guard<std::mutex> lock(g_mu);
  Plan* p = find(h);
  if (!p || !p->made) return CUFFT_INVALID_PLAN;
  if (p->type != type) return CUFFT_INVALID_TYPE;
  if (!p->auto_allocate) {
    if (!p->work) return CUFFT_EXEC_FAILED;
    if (!fdl::emu::is_device_range(p->work, kWorkBytes)) return CUFFT_INVALID_VALUE;
    std::memset(p->work, 0, kWorkBytes);
  }
  if (!make(*p)) return CUFFT_SETUP_FAILED;
  exec(*p);
  return CUFFT_SUCCESS;
}

constexpr unsigned kFlags = FFTW_ESTIMATE | FFTW_UNALIGNED;

}  // namespace

cufftResult cufftCreate(cufftHandle* plan) {
  std::lock_guard<std::mutex> lock(g_mu);
  *plan = g_next++;
  g_plans[*plan];
  return CUFFT_SUCCESS;
}

cufftResult cufftDestroy(cufftHandle plan) {
  std::lock_guard<std::mutex> lock(g_mu);
  Plan* p = find(plan);
  if (!p) return CUFFT_INVALID_PLAN;
  destroy_fftw(*p);
  g_plans.erase(plan);
  return CUFFT_SUCCESS;
}

cufftResult cufftSetStream(cufftHandle plan, cudaStream_t) {
  std::lock_guard<std::mutex> lock(g_mu);
  return find(plan) ? CUFFT_SUCCESS : CUFFT_INVALID_PLAN;
}

cufftResult cufftSetAutoAllocation(cufftHandle plan, int auto_allocate) {
  std::lock_guard<std::mutex> lock(g_mu);
  Plan* p = find(plan);
  if (!p) return CUFFT_INVALID_PLAN;
  p->auto_allocate = auto_allocate != 0;
  return CUFFT_SUCCESS;
}

cufftResult cufftSetWorkArea(cufftHandle plan, void* work) {
  std::lock_guard<std::mutex> lock(g_mu);
  Plan* p = find(plan);
  if (!p) return CUFFT_INVALID_PLAN;
  p->work = work;
  return CUFFT_SUCCESS;
}

cufftResult cufftMakePlanMany64(cufftHandle plan, int rank, long long* n, long long* inembed,
                                long long istride, long long idist, long long* onembed,
                                long long ostride, long long odist, cufftType type, long long batch,
                                size_t* work_size) {
  std::lock_guard<std::mutex> lock(g_mu);
  Plan* p = find(plan);
  if (!p) return CUFFT_INVALID_PLAN;
  if (rank < 1 || rank > 3 || batch < 1) return CUFFT_INVALID_SIZE;
  if (inembed || onembed || istride != 1 || ostride != 1) return CUFFT_INVALID_VALUE;
  long long real = 1, half = 1;
  p->n.clear();
  for (int i = 0; i < rank; ++i) {
    if (n[i] < 1 || n[i] > (1 << 30)) return CUFFT_INVALID_SIZE;
    p->n.push_back(int(n[i]));
    real *= n[i];
    half *= i == rank - 1 ? n[i] / 2 + 1 : n[i];
  }
  const bool forward = type == CUFFT_R2C || type == CUFFT_D2Z;
  if (idist < (forward ? real : half) || odist < (forward ? half : real))
    return CUFFT_INVALID_VALUE;
  p->idist = idist;
  p->odist = odist;
  p->batch = batch;
  p->type = type;
  p->made = true;
  if (work_size) *work_size = kWorkBytes;
  return CUFFT_SUCCESS;
}

cufftResult cufftExecR2C(cufftHandle plan, cufftReal* in, cufftComplex* out) {
  return execute(
      plan, CUFFT_R2C,
      [&](Plan& p) {
        if (!p.single)
          p.single = plan_fftw([&] {
            return fftwf_plan_many_dft_r2c(int(p.n.size()), p.n.data(), int(p.batch), in, nullptr,
                                           1, int(p.idist), reinterpret_cast<fftwf_complex*>(out),
                                           nullptr, 1, int(p.odist), kFlags);
          });
        return p.single != nullptr;
      },
      [&](Plan& p) { fftwf_execute_dft_r2c(p.single, in, reinterpret_cast<fftwf_complex*>(out)); });
}

cufftResult cufftExecC2R(cufftHandle plan, cufftComplex* in, cufftReal* out) {
  return execute(
      plan, CUFFT_C2R,
      [&](Plan& p) {
        if (!p.single)
          p.single = plan_fftw([&] {
            return fftwf_plan_many_dft_c2r(int(p.n.size()), p.n.data(), int(p.batch),
                                           reinterpret_cast<fftwf_complex*>(in), nullptr, 1,
                                           int(p.idist), out, nullptr, 1, int(p.odist), kFlags);
          });
        return p.single != nullptr;
      },
      [&](Plan& p) { fftwf_execute_dft_c2r(p.single, reinterpret_cast<fftwf_complex*>(in), out); });
}

cufftResult cufftExecD2Z(cufftHandle plan, cufftDoubleReal* in, cufftDoubleComplex* out) {
  return execute(
      plan, CUFFT_D2Z,
      [&](Plan& p) {
        if (!p.dbl)
          p.dbl = plan_fftw([&] {
            return fftw_plan_many_dft_r2c(int(p.n.size()), p.n.data(), int(p.batch), in, nullptr, 1,
                                          int(p.idist), reinterpret_cast<fftw_complex*>(out),
                                          nullptr, 1, int(p.odist), kFlags);
          });
        return p.dbl != nullptr;
      },
      [&](Plan& p) { fftw_execute_dft_r2c(p.dbl, in, reinterpret_cast<fftw_complex*>(out)); });
}

cufftResult cufftExecZ2D(cufftHandle plan, cufftDoubleComplex* in, cufftDoubleReal* out) {
  return execute(
      plan, CUFFT_Z2D,
      [&](Plan& p) {
        if (!p.dbl)
          p.dbl = plan_fftw([&] {
            return fftw_plan_many_dft_c2r(int(p.n.size()), p.n.data(), int(p.batch),
                                          reinterpret_cast<fftw_complex*>(in), nullptr, 1,
                                          int(p.idist), out, nullptr, 1, int(p.odist), kFlags);
          });
        return p.dbl != nullptr;
      },
      [&](Plan& p) { fftw_execute_dft_c2r(p.dbl, reinterpret_cast<fftw_complex*>(in), out); });
}
