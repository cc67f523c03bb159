// Why R2C/C2R and not C2C: the volumes are real, and the split/fusion kernels read the
// missing half of a spectrum through Hermitian symmetry (spectral_block.h), so a real
// transform does all the work. Measured with FFTW 3.3.10 on this 2-core box, forward plus
// inverse: 160x160x128 x1, R2C+C2R 11.3 ms vs C2C 29.4 ms (with the real<->complex copies
// C2C needs); 64^3 x8, 4.5 ms vs 8.1 ms. It also halves the spectrum's memory.
// Why FFTW_ESTIMATE: FFTW_MEASURE was ~30% faster at 160x160x128 (8.1 ms) but took 2.6 s
// to plan per shape, and, worse, it may pick a different algorithm on each run, which
// breaks the bit-for-bit reproducibility of the CPU path.
#include "kernels/cpu/fft.h"

#include <fftw3.h>
#include <omp.h>

#include <climits>
#include <map>
#include <mutex>
#include <tuple>

#include "kernels/common/error.h"

namespace fdl::kernels::cpu {

std::mutex& fftw_planner_mutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

namespace {

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool>;  // dims, batch, forward

template <class T>
struct Fftw;
template <>
struct Fftw<float> {
  using Plan = fftwf_plan;
  using Complex = fftwf_complex;
  static void init() { FDL_CHECK(fftwf_init_threads() != 0, "fft: fftwf_init_threads failed"); }
  static void threads(int n) { fftwf_plan_with_nthreads(n); }
  static Plan r2c(int* n, int howmany, float* in, Complex* out, int idist, int odist) {
    return fftwf_plan_many_dft_r2c(3, n, howmany, in, nullptr, 1, idist, out, nullptr, 1, odist,
                                   FFTW_ESTIMATE);
  }
  static Plan c2r(int* n, int howmany, Complex* in, float* out, int idist, int odist) {
    return fftwf_plan_many_dft_c2r(3, n, howmany, in, nullptr, 1, idist, out, nullptr, 1, odist,
                                   FFTW_ESTIMATE);
  }
  static int alignment(const void* p) {
    return fftwf_alignment_of(const_cast<float*>(static_cast<const float*>(p)));
  }
  static void exec_r2c(Plan p, float* in, Complex* out) { fftwf_execute_dft_r2c(p, in, out); }
  static void destroy(Plan p) { fftwf_destroy_plan(p); }
  static void exec_c2r(Plan p, Complex* in, float* out) { fftwf_execute_dft_c2r(p, in, out); }
};
// Double precision is for gradient checks; fftw3 (double) is linked without threads.
template <>
struct Fftw<double> {
  using Plan = fftw_plan;
  using Complex = fftw_complex;
  static void init() {}
  static void threads(int) {}
  static Plan r2c(int* n, int howmany, double* in, Complex* out, int idist, int odist) {
    return fftw_plan_many_dft_r2c(3, n, howmany, in, nullptr, 1, idist, out, nullptr, 1, odist,
                                  FFTW_ESTIMATE);
  }
  static Plan c2r(int* n, int howmany, Complex* in, double* out, int idist, int odist) {
    return fftw_plan_many_dft_c2r(3, n, howmany, in, nullptr, 1, idist, out, nullptr, 1, odist,
                                  FFTW_ESTIMATE);
  }
  static int alignment(const void* p) {
    return fftw_alignment_of(const_cast<double*>(static_cast<const double*>(p)));
  }
  static void exec_r2c(Plan p, double* in, Complex* out) { fftw_execute_dft_r2c(p, in, out); }
  static void destroy(Plan p) { fftw_destroy_plan(p); }
  static void exec_c2r(Plan p, Complex* in, double* out) { fftw_execute_dft_c2r(p, in, out); }
};

// Plans live until exit, and are destroyed then, so a leak checker sees none.
template <class T>
struct PlanCache {
  std::map<Key, typename Fftw<T>::Plan> plans;
  ~PlanCache() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    for (auto& kv : plans) Fftw<T>::destroy(kv.second);
  }
};

// The cached plan for (dims, batch, direction), made on first use with the caller's arrays
// (FFTW_ESTIMATE does not touch them).
template <class T>
typename Fftw<T>::Plan plan_for(const std::array<int64_t, 3>& d, int64_t batch, bool forward,
                                const void* in, const void* out) {
  using F = Fftw<T>;
  static PlanCache<T> cache;
  static bool threads_ready = false;
  FDL_CHECK(F::alignment(in) == 0 && F::alignment(out) == 0,
            "fft: buffers must be SIMD-aligned (got an offset pointer)");
  const int64_t n = d[0] * d[1] * d[2], h = d[0] * d[1] * (d[2] / 2 + 1);
  FDL_CHECK(n > 0 && batch > 0, "fft: empty transform (", d[0], "x", d[1], "x", d[2], ", batch ",
            batch, ")");
  FDL_CHECK(2 * h <= INT_MAX && n <= INT_MAX && batch <= INT_MAX && d[0] <= INT_MAX &&
                d[1] <= INT_MAX && d[2] <= INT_MAX,
            "fft: volume ", d[0], "x", d[1], "x", d[2], " too large for FFTW's int sizes");
  std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  const Key key{d[0], d[1], d[2], batch, forward};
  auto it = cache.plans.find(key);
  if (it != cache.plans.end()) return it->second;
  if (!threads_ready) {
    F::init();
    threads_ready = true;
  }
  F::threads(omp_get_max_threads());
  int dims[3] = {int(d[0]), int(d[1]), int(d[2])};
  using C = typename F::Complex;
  typename F::Plan p = forward ? F::r2c(dims, int(batch), const_cast<T*>(static_cast<const T*>(in)),
                                        static_cast<C*>(const_cast<void*>(out)), int(n), int(h))
                               : F::c2r(dims, int(batch), static_cast<C*>(const_cast<void*>(in)),
                                        static_cast<T*>(const_cast<void*>(out)), int(h), int(n));
  FDL_CHECK(p != nullptr, "fft: FFTW could not plan a ", forward ? "forward" : "inverse", " ", d[0],
            "x", d[1], "x", d[2], " transform of batch ", batch);
  cache.plans.emplace(key, p);
  return p;
}

}  // namespace

template <class T>
void rfft3(const T* in, T* out, const std::array<int64_t, 3>& dims, int64_t batch) {
  auto p = plan_for<T>(dims, batch, true, in, out);
  Fftw<T>::exec_r2c(p, const_cast<T*>(in), reinterpret_cast<typename Fftw<T>::Complex*>(out));
}

template <class T>
void irfft3(T* in, T* out, const std::array<int64_t, 3>& dims, int64_t batch) {
  auto p = plan_for<T>(dims, batch, false, in, out);
  Fftw<T>::exec_c2r(p, reinterpret_cast<typename Fftw<T>::Complex*>(in), out);
}

template void rfft3<float>(const float*, float*, const std::array<int64_t, 3>&, int64_t);
template void rfft3<double>(const double*, double*, const std::array<int64_t, 3>&, int64_t);
template void irfft3<float>(float*, float*, const std::array<int64_t, 3>&, int64_t);
template void irfft3<double>(double*, double*, const std::array<int64_t, 3>&, int64_t);

}  // namespace fdl::kernels::cpu
