#include "engine/metrics/report.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/metrics/summary.h"

namespace fdl {

namespace {

struct MetricField {
  const char* name;
  double ClassMetrics::*field;
};
// The report's column order.
constexpr MetricField kMetrics[] = {
    {"dice", &ClassMetrics::dice},
    {"jaccard", &ClassMetrics::jaccard},
    {"precision", &ClassMetrics::precision},
    {"recall", &ClassMetrics::recall},
    {"fpr", &ClassMetrics::fpr},
    {"fnr", &ClassMetrics::fnr},
    {"volume_similarity", &ClassMetrics::volume_similarity},
    {"hausdorff_mm", &ClassMetrics::hausdorff},
    {"hd95_mm", &ClassMetrics::hd95},
    {"mean_surface_distance_mm", &ClassMetrics::mean_surface_distance},
};

std::string class_name(const std::vector<std::string>& names, int c) {
  return size_t(c) < names.size() ? names[size_t(c)] : "class" + std::to_string(c);
}

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) {
    q += ch;
    if (ch == '"') q += ch;
  }
  q += '"';
  return q;
}

using Json = nlohmann::ordered_json;

Json json_number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

}  // namespace

std::string write_metrics_report(const std::string& out_prefix,
                                 const std::vector<CaseMetrics>& cases,
                                 const std::vector<std::string>& class_names) {
  // Rows of each class in case order; a std::map keeps the classes sorted. ordered_json keeps
  // the keys in the report's column order.
  std::map<int, std::vector<std::pair<const CaseMetrics*, const ClassMetrics*>>> by_class;
  std::string csv = "case,class,class_name";
  for (const auto& m : kMetrics) csv += std::string(",") + m.name;
  csv += ",pred_voxels,label_voxels,note\n";
  for (const CaseMetrics& cm : cases)
    for (const ClassMetrics& m : cm.classes) {
      by_class[m.cls].push_back({&cm, &m});
      // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "," + std::string.
      for (const std::string& field :
           {csv_field(cm.id), std::to_string(m.cls), csv_field(class_name(class_names, m.cls))})
        csv.append(field).push_back(',');
      for (const auto& f : kMetrics) csv.append(number(m.*f.field)).push_back(',');
      for (const std::string& field :
           {std::to_string(m.pred_voxels), std::to_string(m.label_voxels)})
        csv.append(field).push_back(',');
      csv.append(csv_field(m.note)).push_back('\n');
    }

  Json js = {{"metrics", Json::array()}, {"classes", Json::array()}};
  for (const auto& f : kMetrics) js["metrics"].push_back(f.name);
  std::string table;
  char line[256];
  for (const auto& [cls, rows] : by_class) {
    const std::string name = class_name(class_names, cls);
    Json jc = {
        {"class", cls}, {"name", name}, {"summary", Json::object()}, {"cases", Json::array()}};
    std::snprintf(line, sizeof line, "class %d (%s), %zu cases: mean +- std [95%% CI] (n finite)\n",
                  cls, name.c_str(), rows.size());
    table += line;
    for (const auto& f : kMetrics) {
      std::vector<double> values;
      for (const auto& r : rows) values.push_back(r.second->*f.field);
      const Stat s = summarise(values);
      jc["summary"][f.name] = {{"mean", json_number(s.mean)},
                               {"std", json_number(s.std)},
                               {"ci_low", json_number(s.ci_low)},
                               {"ci_high", json_number(s.ci_high)},
                               {"n", s.n}};
      std::snprintf(line, sizeof line, "  %-26s %10.4f +- %-9.4f [%.4f, %.4f] (%d)\n", f.name,
                    s.mean, s.std, s.ci_low, s.ci_high, s.n);
      table += line;
    }
    for (const auto& [cm, m] : rows) {
      Json row = {{"case", cm->id}};
      for (const auto& f : kMetrics) row[f.name] = json_number(m->*f.field);
      row["pred_voxels"] = m->pred_voxels;
      row["label_voxels"] = m->label_voxels;
      row["note"] = m->note;
      jc["cases"].push_back(std::move(row));
    }
    js["classes"].push_back(std::move(jc));
  }
  const std::string json = js.dump(2) + "\n";
  io::write_file_atomic(out_prefix + ".csv", csv);
  io::write_file_atomic(out_prefix + ".json", json);
  return table;
}

}  // namespace fdl
