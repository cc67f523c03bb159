#include "engine/random.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/common/philox.h"

namespace fdl {

Tensor rand_uniform(const Shape& s, double lo, double hi, Generator& g, DType t) {
  const int64_t n = s.numel();
  const uint64_t at = g.reserve(uint64_t(n));
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * kernels::philox_uniform(g.seed, at, i);
  return Tensor::from_vector(v, s).to(t);
}

Tensor rand_normal(const Shape& s, Generator& g, DType t) {
  // Box-Muller on pairs of uniforms; 1 - u keeps the logarithm finite.
  const int64_t n = s.numel();
  const uint64_t at = g.reserve(uint64_t(2 * n));
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double u1 = 1.0 - kernels::philox_uniform(g.seed, at, 2 * i);
    const double u2 = kernels::philox_uniform(g.seed, at, 2 * i + 1);
    v[i] = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  return Tensor::from_vector(v, s).to(t);
}

std::vector<int> random_permutation(int n, Generator& g) {
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const uint64_t at = g.reserve(uint64_t(n));
  for (int i = n - 1; i > 0; --i) {
    const int j = std::min(i, int(kernels::philox_uniform(g.seed, at, uint64_t(i)) * float(i + 1)));
    std::swap(order[size_t(i)], order[size_t(j)]);
  }
  return order;
}

uint64_t item_key(uint64_t seed, int64_t round, int64_t index) {
  const auto words64 = [](const kernels::Philox4& r) {
    return uint64_t(r.v[0]) | uint64_t(r.v[1]) << 32;
  };
  return words64(kernels::philox(words64(kernels::philox(seed, uint64_t(round))), uint64_t(index)));
}

}  // namespace fdl
