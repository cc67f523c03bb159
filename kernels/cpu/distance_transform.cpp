#include "kernels/cpu/distance_transform.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

namespace fdl::kernels::cpu {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Scratch for one line: the envelope's parabola apexes v, the boundaries z between them, and
// the line's input values f (gathered so strided axes are read once).
struct Line {
  std::vector<int64_t> v;
  std::vector<double> z, f;
  explicit Line(int64_t n) : v(n), z(n + 1), f(n) {}
};

// d[q] = min over p of (s2 * (q - p)^2 + f[p]) for q in [0, n); +inf when every f is +inf.
// Infinite f[p] (no feature reachable) are left out of the envelope rather than compared,
// since inf - inf would poison the intersections.
void envelope(Line& L, double* d, int64_t n, double s2) {
  const double* f = L.f.data();
  int64_t k = -1;
  for (int64_t q = 0; q < n; ++q) {
    if (f[q] == kInf) continue;
    if (k < 0) {
      k = 0;
      L.v[0] = q;
      L.z[0] = -kInf;
      L.z[1] = kInf;
      continue;
    }
    double s;
    for (;;) {  // z[0] = -inf, so this stops at k = 0 at the latest
      const int64_t r = L.v[k];
      s = ((f[q] + s2 * double(q * q)) - (f[r] + s2 * double(r * r))) / (2 * s2 * double(q - r));
      if (s > L.z[k]) break;
      --k;
    }
    ++k;
    L.v[k] = q;
    L.z[k] = s;
    L.z[k + 1] = kInf;
  }
  if (k < 0) {
    for (int64_t q = 0; q < n; ++q) d[q] = kInf;
    return;
  }
  k = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (L.z[k + 1] < double(q)) ++k;
    const double dq = double(q - L.v[k]);
    d[q] = s2 * dq * dq + f[L.v[k]];
  }
}

// One pass along an axis of length n with element stride `stride`: `lines` lines whose first
// elements are at base(l). Works in place on `buf`.
template <class Base>
void pass(double* buf, int64_t lines, int64_t n, int64_t stride, double s2, Base base) {
#pragma omp parallel if (lines * n > 32768)
  {
    Line L(n);
    std::vector<double> d(n);
#pragma omp for schedule(static)
    for (int64_t l = 0; l < lines; ++l) {
      double* p = buf + base(l);
      for (int64_t q = 0; q < n; ++q) L.f[q] = p[q * stride];
      envelope(L, d.data(), n, s2);
      for (int64_t q = 0; q < n; ++q) p[q * stride] = d[q];
    }
  }
}

}  // namespace

template <class T>
void squared_edt(const uint8_t* feature, T* out, int64_t nx, int64_t ny, int64_t nz, double sx,
                 double sy, double sz) {
  const int64_t n = nx * ny * nz;
  // The passes run in double whatever T is, so the float result is the rounded exact value.
  std::vector<double> scratch;
  double* b;
  if constexpr (std::is_same_v<T, double>) {
    b = out;
  } else {
    scratch.resize(size_t(n));
    b = scratch.data();
  }
  // Along z the input is binary: 0 on features, +inf elsewhere, then the envelope.
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) b[i] = feature[i] ? 0.0 : kInf;
  pass(b, nx * ny, nz, 1, sz * sz, [nz](int64_t l) { return l * nz; });
  pass(b, nx * nz, ny, nz, sy * sy, [ny, nz](int64_t l) { return (l / nz) * ny * nz + l % nz; });
  pass(b, ny * nz, nx, ny * nz, sx * sx, [](int64_t l) { return l; });
  if constexpr (!std::is_same_v<T, double>) {
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i) out[i] = T(b[i]);
  }
}

template void squared_edt<float>(const uint8_t*, float*, int64_t, int64_t, int64_t, double, double,
                                 double);
template void squared_edt<double>(const uint8_t*, double*, int64_t, int64_t, int64_t, double,
                                  double, double);

}  // namespace fdl::kernels::cpu
