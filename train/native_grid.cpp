#include "train/native_grid.h"

#include <algorithm>
#include <cmath>

#include "engine/memory_limit.h"
#include "kernels/common/error.h"

namespace fdl::train {

namespace {

template <class T>
double median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? double(v[n / 2]) : (double(v[n / 2 - 1]) + double(v[n / 2])) / 2;
}

}  // namespace

std::array<double, 3> median_spacing(const std::vector<NiftiHeader>& cases) {
  FDL_CHECK(!cases.empty(), "median spacing: no cases");
  std::array<double, 3> out{};
  for (size_t a = 0; a < 3; ++a) {
    std::vector<double> v;
    for (const NiftiHeader& h : cases) v.push_back(h.spacing[a]);
    out[a] = median(v);
  }
  return out;
}

Index3 grid_at(const NiftiHeader& h, const std::array<double, 3>& spacing) {
  Index3 n{};
  for (size_t a = 0; a < 3; ++a)
    n[a] = std::max<int64_t>(1, std::llround(double(h.shape[a]) * h.spacing[a] / spacing[a]));
  return n;
}

Preprocess native_preprocess(Preprocess run, const NiftiHeader& h,
                             const std::array<double, 3>& spacing) {
  run.shape = grid_at(h, spacing);
  run.fit = Fit::Resize;
  return run;
}

Index3 median_grid(const std::vector<NiftiHeader>& cases, const std::array<double, 3>& spacing) {
  FDL_CHECK(!cases.empty(), "median grid: no cases");
  Index3 out{};
  for (size_t a = 0; a < 3; ++a) {
    std::vector<int64_t> v;
    for (const NiftiHeader& h : cases) v.push_back(grid_at(h, spacing)[a]);
    out[a] = int64_t(std::llround(median(v)));
  }
  return out;
}

Index3 choose_patch(Index3 median, double bytes_per_voxel, int batch, uint64_t budget) {
  Index3 full{}, p{};
  for (size_t a = 0; a < 3; ++a) full[a] = p[a] = std::max<int64_t>(4, (median[a] + 3) / 4 * 4);
  const auto bytes = [&] { return double(batch) * bytes_per_voxel * double(p[0] * p[1] * p[2]); };
  while (bytes() > double(budget)) {
    // The axis longest relative to the median grid, so the patch keeps its proportions.
    size_t a = 3;
    for (size_t i = 0; i < 3; ++i)
      if (p[i] > 4 && (a == 3 || p[i] * full[a] > p[a] * full[i])) a = i;
    FDL_CHECK(a < 3, "--patch 0 0 0: not even a 4x4x4 patch fits the memory budget of ",
              byte_size_text(budget), " with --batch ", batch,
              "; raise --max-memory or lower --batch");
    p[a] -= 4;
  }
  return p;
}

}  // namespace fdl::train
