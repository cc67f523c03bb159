// Segmentation metrics against an independent brute-force reference (explicit counts and
// all-pairs surface distances), hand-checked cases, empty masks, summaries and the report.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "engine/metrics/report.h"
#include "engine/metrics/segmentation.h"
#include "engine/metrics/summary.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Grid {
  int64_t X, Y, Z;
  int64_t at(int64_t x, int64_t y, int64_t z) const { return (x * Y + y) * Z + z; }
};

Tensor labels(const std::vector<int32_t>& v, const Grid& g) {
  Tensor t = Tensor::empty({g.X, g.Y, g.Z}, DType::I32);
  std::copy(v.begin(), v.end(), t.data<int32_t>());
  return t;
}

// --- The reference: the definitions in engine/metrics/segmentation.h, written out directly. ---

struct Point {
  int64_t x, y, z;
};

std::vector<Point> ref_surface(const std::vector<int32_t>& v, const Grid& g, int32_t c) {
  auto in = [&](int64_t x, int64_t y, int64_t z) {
    return x >= 0 && y >= 0 && z >= 0 && x < g.X && y < g.Y && z < g.Z &&
           v[size_t(g.at(x, y, z))] == c;
  };
  std::vector<Point> s;
  for (int64_t x = 0; x < g.X; ++x)
    for (int64_t y = 0; y < g.Y; ++y)
      for (int64_t z = 0; z < g.Z; ++z)
        if (in(x, y, z) && !(in(x - 1, y, z) && in(x + 1, y, z) && in(x, y - 1, z) &&
                             in(x, y + 1, z) && in(x, y, z - 1) && in(x, y, z + 1)))
          s.push_back({x, y, z});
  return s;
}

std::vector<double> ref_directed(const std::vector<Point>& a, const std::vector<Point>& b,
                                 const double* s) {
  std::vector<double> d;
  for (const Point& p : a) {
    double best = INFINITY;
    for (const Point& q : b)
      best = std::min(best, std::hypot(double(p.x - q.x) * s[0], double(p.y - q.y) * s[1],
                                       double(p.z - q.z) * s[2]));
    d.push_back(best);
  }
  return d;
}

double ref_percentile95(std::vector<double> d) {  // numpy.percentile(d, 95), linear
  std::sort(d.begin(), d.end());
  const double h = 0.95 * double(d.size() - 1);
  const size_t i = size_t(std::floor(h));
  return i + 1 < d.size() ? d[i] + (h - double(i)) * (d[i + 1] - d[i]) : d[i];
}

ClassMetrics reference(const std::vector<int32_t>& p, const std::vector<int32_t>& l, const Grid& g,
                       int32_t c, const double* s) {
  double tp = 0, fp = 0, fn = 0, tn = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const bool a = p[i] == c, b = l[i] == c;
    tp += a && b, fp += a && !b, fn += !a && b, tn += !a && !b;
  }
  ClassMetrics m;
  m.cls = c;
  m.pred_voxels = int64_t(tp + fp);
  m.label_voxels = int64_t(tp + fn);
  m.dice = 2 * tp / (2 * tp + fp + fn);
  m.jaccard = tp / (tp + fp + fn);
  m.precision = tp / (tp + fp);
  m.recall = tp / (tp + fn);
  m.fpr = fp / (fp + tn);
  m.fnr = fn / (tp + fn);
  m.volume_similarity = 1 - std::abs(fp - fn) / (2 * tp + fp + fn);
  const auto sa = ref_surface(p, g, c), sb = ref_surface(l, g, c);
  if (sa.empty() || sb.empty()) {
    m.hausdorff = m.hd95 = m.mean_surface_distance = kNaN;
    return m;
  }
  const auto ab = ref_directed(sa, sb, s), ba = ref_directed(sb, sa, s);
  m.hausdorff =
      std::max(*std::max_element(ab.begin(), ab.end()), *std::max_element(ba.begin(), ba.end()));
  m.hd95 = std::max(ref_percentile95(ab), ref_percentile95(ba));
  double sum = 0;
  for (double v : ab) sum += v;
  for (double v : ba) sum += v;
  m.mean_surface_distance = sum / double(ab.size() + ba.size());
  return m;
}

// Random blobs: a few ellipsoids of random classes in 1..k-1 over background.
std::vector<int32_t> blobs(const Grid& g, int k, std::mt19937& rng) {
  std::vector<int32_t> v(size_t(g.X * g.Y * g.Z), 0);
  std::uniform_real_distribution<double> u(0, 1);
  const int n = 1 + int(rng() % 4);
  for (int b = 0; b < n; ++b) {
    const double cx = u(rng) * g.X, cy = u(rng) * g.Y, cz = u(rng) * g.Z;
    const double rx = 0.8 + 3 * u(rng), ry = 0.8 + 3 * u(rng), rz = 0.8 + 3 * u(rng);
    const int32_t c = 1 + int32_t(rng() % uint32_t(k - 1));
    for (int64_t x = 0; x < g.X; ++x)
      for (int64_t y = 0; y < g.Y; ++y)
        for (int64_t z = 0; z < g.Z; ++z) {
          const double dx = (x - cx) / rx, dy = (y - cy) / ry, dz = (z - cz) / rz;
          if (dx * dx + dy * dy + dz * dz <= 1) v[size_t(g.at(x, y, z))] = c;
        }
  }
  return v;
}

bool same(double a, double b, double tol = 1e-9) {
  return (std::isnan(a) && std::isnan(b)) || std::abs(a - b) <= tol;
}

void check_same(const ClassMetrics& got, const ClassMetrics& want, const std::string& what) {
  CHECK_MESSAGE(got.cls == want.cls, what);
  CHECK_MESSAGE(got.pred_voxels == want.pred_voxels, what);
  CHECK_MESSAGE(got.label_voxels == want.label_voxels, what);
  const std::pair<const char*, double ClassMetrics::*> fields[] = {
      {"dice", &ClassMetrics::dice},
      {"jaccard", &ClassMetrics::jaccard},
      {"precision", &ClassMetrics::precision},
      {"recall", &ClassMetrics::recall},
      {"fpr", &ClassMetrics::fpr},
      {"fnr", &ClassMetrics::fnr},
      {"vs", &ClassMetrics::volume_similarity},
      {"hd", &ClassMetrics::hausdorff},
      {"hd95", &ClassMetrics::hd95},
      {"msd", &ClassMetrics::mean_surface_distance}};
  for (const auto& [name, f] : fields)
    CHECK_MESSAGE(same(got.*f, want.*f), what, " ", name, ": ", got.*f, " vs ", want.*f);
}

// Two boxes [lo, lo + size) per axis, the prediction's shifted by `shift`.
std::pair<Tensor, Tensor> boxes(const Grid& g, std::array<int64_t, 3> lo,
                                std::array<int64_t, 3> size, std::array<int64_t, 3> shift) {
  std::vector<int32_t> p(size_t(g.X * g.Y * g.Z), 0), l(p.size(), 0);
  for (int64_t x = 0; x < g.X; ++x)
    for (int64_t y = 0; y < g.Y; ++y)
      for (int64_t z = 0; z < g.Z; ++z) {
        auto inside = [&](const std::array<int64_t, 3>& o) {
          return x >= lo[0] + o[0] && x < lo[0] + o[0] + size[0] && y >= lo[1] + o[1] &&
                 y < lo[1] + o[1] + size[1] && z >= lo[2] + o[2] && z < lo[2] + o[2] + size[2];
        };
        l[size_t(g.at(x, y, z))] = inside({0, 0, 0});
        p[size_t(g.at(x, y, z))] = inside(shift);
      }
  return {labels(p, g), labels(l, g)};
}

}  // namespace

TEST_CASE("evaluate_case: equals the brute-force reference on random blobs") {
  std::mt19937 rng(11);
  const Grid g{9, 8, 7};
  const double spacings[][3] = {{1, 1, 1}, {0.8, 1.7, 2.6}};
  int compared = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int k = 2 + trial % 3;
    const double* s = spacings[trial % 2];
    const std::vector<int32_t> l = blobs(g, k, rng);
    // The prediction: the label with random voxels relabelled, or independent blobs.
    std::vector<int32_t> p = l;
    if (trial % 4 == 3) {
      p = blobs(g, k, rng);
    } else {
      for (auto& v : p)
        if (rng() % 10 == 0) v = int32_t(rng() % uint32_t(k));
    }
    const auto got = evaluate_case(labels(p, g), labels(l, g), {s[0], s[1], s[2]}, k);
    REQUIRE(got.size() == size_t(k - 1));
    for (int c = 1; c < k; ++c) {
      const ClassMetrics want = reference(p, l, g, c, s);
      if (want.pred_voxels == 0 || want.label_voxels == 0) continue;  // empty cases: tested below
      check_same(got[size_t(c - 1)], want,
                 "trial " + std::to_string(trial) + " class " + std::to_string(c));
      ++compared;
    }
  }
  CHECK(compared > 40);
}

TEST_CASE("evaluate_case: two boxes offset by k voxels have Hausdorff k times the spacing") {
  const Grid g{16, 12, 14};
  const std::array<double, 3> s{0.8, 1.5, 2.5};
  for (int axis = 0; axis < 3; ++axis)
    for (int64_t k : {1, 2, 3}) {
      std::array<int64_t, 3> shift{0, 0, 0};
      shift[size_t(axis)] = k;
      const auto [p, l] = boxes(g, {3, 2, 4}, {5, 4, 4}, shift);
      const ClassMetrics m = evaluate_case(p, l, s, 2).at(0);
      CHECK(m.hausdorff == doctest::Approx(double(k) * s[size_t(axis)]).epsilon(1e-12));
      const int64_t len = std::array<int64_t, 3>{5, 4, 4}[size_t(axis)];
      const double overlap = double(80 / len * std::max<int64_t>(0, len - k));
      CHECK(m.dice == doctest::Approx(2 * overlap / 160));
      CHECK(m.jaccard == doctest::Approx(overlap / (160 - overlap)));
      CHECK(m.volume_similarity == 1);
      CHECK(m.pred_voxels == 80);
      CHECK(m.note.empty());
    }
  // Identical masks: every distance 0, every overlap 1.
  const auto [p, l] = boxes(g, {3, 2, 4}, {5, 4, 4}, {0, 0, 0});
  const ClassMetrics m = evaluate_case(p, l, s, 2).at(0);
  CHECK(m.dice == 1);
  CHECK(m.hausdorff == 0);
  CHECK(m.hd95 == 0);
  CHECK(m.mean_surface_distance == 0);
  CHECK(m.fpr == 0);
  CHECK(m.fnr == 0);
}

TEST_CASE("evaluate_case: empty prediction, empty label, both empty") {
  const Grid g{6, 5, 4};
  const auto [box, none] = boxes(g, {1, 1, 1}, {2, 2, 2}, {0, 0, 0});
  const Tensor zero = Tensor::zeros({6, 5, 4}, DType::I32);
  {
    const ClassMetrics m = evaluate_case(zero, box, {1, 1, 1}, 2).at(0);
    CHECK(m.dice == 0);
    CHECK(m.jaccard == 0);
    CHECK(m.volume_similarity == 0);
    CHECK(std::isnan(m.precision));
    CHECK(m.recall == 0);
    CHECK(m.fnr == 1);
    CHECK(m.fpr == 0);
    CHECK(std::isnan(m.hausdorff));
    CHECK(std::isnan(m.hd95));
    CHECK(std::isnan(m.mean_surface_distance));
    CHECK(m.note.find("prediction empty") != std::string::npos);
  }
  {
    const ClassMetrics m = evaluate_case(box, zero, {1, 1, 1}, 2).at(0);
    CHECK(m.dice == 0);
    CHECK(m.precision == 0);
    CHECK(std::isnan(m.recall));
    CHECK(std::isnan(m.fnr));
    CHECK(m.fpr == doctest::Approx(8.0 / 120));
    CHECK(std::isnan(m.hausdorff));
    CHECK(m.note.find("label empty") != std::string::npos);
  }
  {
    // Class 2 is in neither.
    const auto ms = evaluate_case(box, box, {1, 1, 1}, 3);
    REQUIRE(ms.size() == 2);
    const ClassMetrics& m = ms[1];
    CHECK(m.cls == 2);
    CHECK(m.dice == 1);
    CHECK(m.jaccard == 1);
    CHECK(m.volume_similarity == 1);
    CHECK(std::isnan(m.precision));
    CHECK(std::isnan(m.recall));
    CHECK(m.fpr == 0);
    CHECK(m.hausdorff == 0);
    CHECK(m.hd95 == 0);
    CHECK(m.mean_surface_distance == 0);
    CHECK(m.note.find("both empty") != std::string::npos);
    CHECK(ms[0].note.empty());
  }
}

TEST_CASE("evaluate_case: bad inputs") {
  const Tensor a = Tensor::zeros({4, 4, 4}, DType::I32);
  CHECK_THROWS_WITH_AS(evaluate_case(a, Tensor::zeros({4, 4, 5}, DType::I32), {1, 1, 1}, 2),
                       doctest::Contains("differ in shape"), Error);
  CHECK_THROWS_WITH_AS(evaluate_case(a, Tensor::zeros({4, 4, 4}), {1, 1, 1}, 2),
                       doctest::Contains("label"), Error);
  CHECK_THROWS_WITH_AS(evaluate_case(a, a, {1, 0, 1}, 2), doctest::Contains("spacing"), Error);
  CHECK_THROWS_WITH_AS(evaluate_case(a, a, {1, 1, 1}, 1), doctest::Contains("classes"), Error);
  Tensor b = a.clone();
  b.data<int32_t>()[(1 * 4 + 2) * 4 + 3] = 5;
  CHECK_THROWS_WITH_AS(evaluate_case(a, b, {1, 1, 1}, 3),
                       doctest::Contains("label value 5 at voxel (1, 2, 3)"), Error);
  b.data<int32_t>()[(1 * 4 + 2) * 4 + 3] = -1;
  CHECK_THROWS_WITH_AS(evaluate_case(b, a, {1, 1, 1}, 3), doctest::Contains("prediction value -1"),
                       Error);
}

TEST_CASE("evaluate_case: a 160x160x128 case with 2 classes is fast") {
  const Grid g{160, 160, 128};
  std::vector<int32_t> l(size_t(g.X * g.Y * g.Z), 0), p(l.size(), 0);
  // A sphere of radius 40 and a prediction shifted and a little larger.
  for (int64_t x = 0; x < g.X; ++x)
    for (int64_t y = 0; y < g.Y; ++y)
      for (int64_t z = 0; z < g.Z; ++z) {
        const double a = std::hypot(x - 80.0, y - 80.0, z - 64.0),
                     b = std::hypot(x - 83.0, y - 79.0, z - 66.0);
        l[size_t(g.at(x, y, z))] = a <= 40;
        p[size_t(g.at(x, y, z))] = b <= 42;
      }
  const Tensor pt = labels(p, g), lt = labels(l, g);
  const auto t0 = std::chrono::steady_clock::now();
  const ClassMetrics m = evaluate_case(pt, lt, {0.9, 0.9, 1.2}, 2).at(0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("evaluate_case 160x160x128, 2 classes: ", secs, " s");
  CHECK(m.dice > 0.8);
  CHECK(m.hausdorff > 2);
  CHECK(m.hausdorff < 8);
  CHECK(secs < 5);  // about 0.1 s on 2 cores; generous for loaded test machines
}

TEST_CASE("summarise: mean, std and the Student t interval against hand values") {
  // t(0.975, df) from tables.
  CHECK(student_t_quantile(0.975, 1) == doctest::Approx(12.706204736).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 2) == doctest::Approx(4.302652730).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 4) == doctest::Approx(2.776445105).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 9) == doctest::Approx(2.262157163).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 30) == doctest::Approx(2.042272456).epsilon(1e-9));
  CHECK(student_t_quantile(0.025, 4) == doctest::Approx(-2.776445105).epsilon(1e-9));
  CHECK(student_t_quantile(0.5, 7) == doctest::Approx(0).epsilon(1e-12));

  const Stat s = summarise({1, 2, 3, 4, 5, kNaN, INFINITY});
  CHECK(s.n == 5);
  CHECK(s.mean == doctest::Approx(3));
  CHECK(s.std == doctest::Approx(std::sqrt(2.5)));
  const double half = 2.776445105 * std::sqrt(2.5) / std::sqrt(5.0);
  CHECK(s.ci_low == doctest::Approx(3 - half).epsilon(1e-9));
  CHECK(s.ci_high == doctest::Approx(3 + half).epsilon(1e-9));

  const Stat one = summarise({0.7, kNaN});
  CHECK(one.n == 1);
  CHECK(one.mean == 0.7);
  CHECK(std::isnan(one.std));
  CHECK(std::isnan(one.ci_low));
  CHECK(std::isnan(one.ci_high));

  const Stat none = summarise({kNaN});
  CHECK(none.n == 0);
  CHECK(std::isnan(none.mean));

  const Stat two = summarise({0.5, 1.0});
  CHECK(two.std == doctest::Approx(std::sqrt(0.125)));
  CHECK(two.ci_high == doctest::Approx(0.75 + 12.706204736 * std::sqrt(0.125) / std::sqrt(2.0)));
}

TEST_CASE("write_metrics_report: CSV rows, JSON summaries and the table") {
  const fs::path dir = test::scratch_dir("metrics", "report");
  auto cm = [](int c, double dice, const std::string& note) {
    ClassMetrics m{};
    m.cls = c;
    m.dice = m.jaccard = m.precision = m.recall = m.fpr = m.fnr = m.volume_similarity = dice;
    m.hausdorff = m.hd95 = m.mean_surface_distance = note.empty() ? 2 * dice : kNaN;
    m.pred_voxels = 10 * c;
    m.label_voxels = 11;
    m.note = note;
    return m;
  };
  const std::vector<CaseMetrics> cases{
      {"case_a", {cm(1, 0.5, ""), cm(2, 0.9, "")}},
      {"case,b", {cm(1, 1.0, ""), cm(2, 0.0, "prediction empty: distances undefined")}},
  };
  const std::string table =
      write_metrics_report((dir / "m").string(), cases, {"background", "liver"});
  CHECK(table.find("class 1 (liver)") != std::string::npos);
  CHECK(table.find("class 2 (class2)") != std::string::npos);

  std::ifstream csv(dir / "m.csv");
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].rfind(
            "case,class,class_name,dice,jaccard,precision,recall,fpr,fnr,volume_similarity,", 0) ==
        0);
  CHECK(lines[0].find("pred_voxels,label_voxels,note") != std::string::npos);
  CHECK(lines[1].rfind("case_a,1,liver,0.5,", 0) == 0);
  CHECK(lines[4].rfind("\"case,b\",2,class2,0,", 0) == 0);
  CHECK(lines[4].find(",nan,nan,nan,20,11,prediction empty: distances undefined") !=
        std::string::npos);

  std::ifstream jf(dir / "m.json");
  const nlohmann::json js = nlohmann::json::parse(jf);
  REQUIRE(js["classes"].size() == 2);
  const auto& c1 = js["classes"][0];
  CHECK(c1["class"] == 1);
  CHECK(c1["name"] == "liver");
  CHECK(c1["summary"]["dice"]["mean"].get<double>() == doctest::Approx(0.75));
  CHECK(c1["summary"]["dice"]["n"] == 2);
  CHECK(c1["summary"]["dice"]["ci_low"].get<double>() ==
        doctest::Approx(0.75 - 12.706204736 * std::sqrt(0.125) / std::sqrt(2.0)));
  CHECK(c1["cases"].size() == 2);
  CHECK(c1["cases"][1]["case"] == "case,b");
  const auto& c2 = js["classes"][1];
  CHECK(c2["summary"]["hd95_mm"]["n"] == 1);
  CHECK(c2["summary"]["hd95_mm"]["mean"].get<double>() == doctest::Approx(1.8));
  CHECK(c2["summary"]["hd95_mm"]["std"].is_null());
  CHECK(c2["cases"][1]["hausdorff_mm"].is_null());
  CHECK(c2["cases"][1]["note"] == "prediction empty: distances undefined");
  fs::remove_all(dir);
}
