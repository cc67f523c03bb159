#include "engine/metrics/segmentation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/distance_transform.h"

namespace fdl {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Voxel counts and the bounding box (lo inclusive, hi exclusive) of each class in pred and label.
struct ClassStats {
  std::vector<int64_t> pred, label, both;
  std::vector<std::array<int64_t, 6>> pbox, lbox;  // {xlo, ylo, zlo, xhi, yhi, zhi}
  explicit ClassStats(int k)
      : pred(k), label(k), both(k), pbox(k, empty_box()), lbox(k, empty_box()) {}
  static std::array<int64_t, 6> empty_box() {
    const int64_t m = std::numeric_limits<int64_t>::max();
    return {m, m, m, -1, -1, -1};
  }
};

void grow(std::array<int64_t, 6>& b, int64_t x, int64_t y, int64_t z) {
  b[0] = std::min(b[0], x), b[1] = std::min(b[1], y), b[2] = std::min(b[2], z);
  b[3] = std::max(b[3], x + 1), b[4] = std::max(b[4], y + 1), b[5] = std::max(b[5], z + 1);
}

void merge(std::array<int64_t, 6>& b, const std::array<int64_t, 6>& o) {
  for (int i = 0; i < 3; ++i) b[i] = std::min(b[i], o[i]), b[i + 3] = std::max(b[i + 3], o[i + 3]);
}

// Checks the values (the first bad one named) and gathers ClassStats in one pass over x slices.
ClassStats class_stats(const int32_t* p, const int32_t* l, int64_t X, int64_t Y, int64_t Z, int k) {
  ClassStats all(k);
  int64_t bad = -1;  // flat index of a value outside [0, k)
#pragma omp parallel
  {
    ClassStats mine(k);
    int64_t my_bad = -1;
#pragma omp for schedule(static) nowait
    for (int64_t x = 0; x < X; ++x)
      for (int64_t y = 0; y < Y; ++y) {
        const int64_t row = (x * Y + y) * Z;
        for (int64_t z = 0; z < Z; ++z) {
          const int32_t a = p[row + z], b = l[row + z];
          if (uint32_t(a) >= uint32_t(k) || uint32_t(b) >= uint32_t(k)) {
            if (my_bad < 0) my_bad = row + z;
            continue;
          }
          ++mine.pred[a], ++mine.label[b];
          if (a == b) ++mine.both[a];
          // Background's box is never used; skipping it keeps the common voxel cheap.
          if (a) grow(mine.pbox[a], x, y, z);
          if (b) grow(mine.lbox[b], x, y, z);
        }
      }
#pragma omp critical
    {
      for (int c = 0; c < k; ++c) {
        all.pred[c] += mine.pred[c], all.label[c] += mine.label[c], all.both[c] += mine.both[c];
        merge(all.pbox[c], mine.pbox[c]), merge(all.lbox[c], mine.lbox[c]);
      }
      if (my_bad >= 0 && (bad < 0 || my_bad < bad)) bad = my_bad;
    }
  }
  if (bad >= 0) {
    const bool in_pred = uint32_t(p[bad]) >= uint32_t(k);
    const int64_t x = bad / (Y * Z), y = bad / Z % Y, z = bad % Z;
    throw Error(detail::concat("evaluate_case: ", in_pred ? "prediction" : "label", " value ",
                               in_pred ? p[bad] : l[bad], " at voxel (", x, ", ", y, ", ", z,
                               ") is outside the classes [0, ", k, ")"));
  }
  return all;
}

// The surface of a mask over a box of size n: voxels of the mask with a face neighbour outside
// it. The box holds every voxel of the mask, so a neighbour beyond the box is outside the mask
// just as one beyond the image border is.
std::vector<uint8_t> surface(const std::vector<uint8_t>& m, const std::array<int64_t, 3>& n) {
  const int64_t sy = n[2], sx = n[1] * n[2];
  std::vector<uint8_t> s(m.size(), 0);
#pragma omp parallel for schedule(static) if (m.size() > 32768)
  for (int64_t x = 0; x < n[0]; ++x)
    for (int64_t y = 0; y < n[1]; ++y)
      for (int64_t z = 0; z < n[2]; ++z) {
        const int64_t i = x * sx + y * sy + z;
        if (!m[i]) continue;
        const bool inner = x > 0 && x + 1 < n[0] && y > 0 && y + 1 < n[1] && z > 0 &&
                           z + 1 < n[2] && m[i - sx] && m[i + sx] && m[i - sy] && m[i + sy] &&
                           m[i - 1] && m[i + 1];
        s[i] = !inner;
      }
  return s;
}

// Distances (mm) from each voxel of surface `from` to the nearest voxel of surface `to`.
std::vector<double> directed(const std::vector<uint8_t>& from, const std::vector<uint8_t>& to,
                             const std::array<int64_t, 3>& n,
                             const std::array<double, 3>& spacing) {
  std::vector<double> d2(to.size());
  kernels::cpu::squared_edt(to.data(), d2.data(), n[0], n[1], n[2], spacing[0], spacing[1],
                            spacing[2]);
  std::vector<double> d;
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i]) d.push_back(std::sqrt(d2[i]));
  return d;
}

// The 95th percentile with linear interpolation between order statistics (numpy's default).
double p95(std::vector<double> d) {
  const double pos = 0.95 * double(d.size() - 1);
  const size_t lo = size_t(pos);
  std::nth_element(d.begin(), d.begin() + lo, d.end());
  const double a = d[lo];
  if (lo + 1 >= d.size()) return a;
  const double b = *std::min_element(d.begin() + lo + 1, d.end());
  return a + (pos - double(lo)) * (b - a);
}

// Hausdorff, HD95 and mean surface distance of class c, both masks non-empty.
void surface_distances(ClassMetrics& m, const int32_t* p, const int32_t* l, const Shape& shape,
                       int32_t c, std::array<int64_t, 6> box,
                       const std::array<double, 3>& spacing) {
  // Both surfaces lie in the union of the boxes, so the EDT over it is exact there.
  const std::array<int64_t, 3> n{box[3] - box[0], box[4] - box[1], box[5] - box[2]};
  const int64_t Y = shape[1], Z = shape[2];
  std::vector<uint8_t> a(size_t(n[0] * n[1] * n[2])), b(a.size());
  for (int64_t x = 0; x < n[0]; ++x)
    for (int64_t y = 0; y < n[1]; ++y) {
      const int64_t src = ((x + box[0]) * Y + y + box[1]) * Z + box[2], dst = (x * n[1] + y) * n[2];
      for (int64_t z = 0; z < n[2]; ++z) a[dst + z] = p[src + z] == c, b[dst + z] = l[src + z] == c;
    }
  const std::vector<uint8_t> sa = surface(a, n), sb = surface(b, n);
  const std::vector<double> ab = directed(sa, sb, n, spacing), ba = directed(sb, sa, n, spacing);
  double sum = 0;
  for (double v : ab) sum += v;
  for (double v : ba) sum += v;
  m.hausdorff =
      std::max(*std::max_element(ab.begin(), ab.end()), *std::max_element(ba.begin(), ba.end()));
  m.hd95 = std::max(p95(ab), p95(ba));
  m.mean_surface_distance = sum / double(ab.size() + ba.size());
}

double ratio(double num, double den) { return den > 0 ? num / den : kNaN; }

}  // namespace

std::vector<ClassMetrics> evaluate_case(const Tensor& pred, const Tensor& label,
                                        std::array<double, 3> spacing, int classes) {
  FDL_CHECK(classes >= 2, "evaluate_case: classes must be at least 2, got ", classes);
  for (const Tensor* t : {&pred, &label}) {
    const char* what = t == &pred ? "prediction" : "label";
    FDL_CHECK(t->dtype() == DType::I32 && t->device() == Device::CPU && t->ndim() == 3,
              "evaluate_case: ", what, " must be an int32 CPU (X, Y, Z) tensor, got ",
              dtype_name(t->dtype()), " ", t->shape().str(), " on ", device_name(t->device()));
  }
  FDL_CHECK(pred.shape() == label.shape(), "evaluate_case: prediction ", pred.shape().str(),
            " and label ", label.shape().str(), " differ in shape");
  for (double s : spacing)
    FDL_CHECK(s > 0 && std::isfinite(s), "evaluate_case: spacing must be positive, got ", s);
  const Shape& sh = pred.shape();
  const int32_t* p = pred.data<int32_t>();
  const int32_t* l = label.data<int32_t>();
  const ClassStats st = class_stats(p, l, sh[0], sh[1], sh[2], classes);
  const double N = double(pred.numel());

  std::vector<ClassMetrics> out;
  for (int c = 1; c < classes; ++c) {
    ClassMetrics m;
    m.cls = c;
    m.pred_voxels = st.pred[c];
    m.label_voxels = st.label[c];
    const double P = double(st.pred[c]), L = double(st.label[c]), TP = double(st.both[c]);
    const double FP = P - TP, FN = L - TP, TN = N - TP - FP - FN;
    m.precision = ratio(TP, P);
    m.recall = ratio(TP, L);
    m.fnr = ratio(FN, L);
    m.fpr = ratio(FP, FP + TN);
    if (P == 0 && L == 0) {
      m.dice = m.jaccard = m.volume_similarity = 1;
      m.hausdorff = m.hd95 = m.mean_surface_distance = 0;
      m.note = "both empty: Dice, Jaccard, volume similarity 1, distances 0";
    } else {
      m.dice = 2 * TP / (P + L);
      m.jaccard = TP / (TP + FP + FN);
      m.volume_similarity = 1 - std::abs(P - L) / (P + L);
      if (P == 0 || L == 0) {
        m.hausdorff = m.hd95 = m.mean_surface_distance = kNaN;
        m.note =
            P == 0 ? "prediction empty: distances undefined" : "label empty: distances undefined";
      } else {
        std::array<int64_t, 6> box = st.pbox[c];
        merge(box, st.lbox[c]);
        surface_distances(m, p, l, sh, c, box, spacing);
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace fdl
