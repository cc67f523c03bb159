// `fdl compare RUN_DIR...`: the held-out test metrics of several runs side by side, one row
// per class, one column per run (its model name), each cell the mean and 95% CI over cases.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/command.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_file.h"
#include "kernels/common/error.h"

namespace {

std::string cell(const nlohmann::json& s) {
  auto num = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : NAN; };
  char b[64];
  std::snprintf(b, sizeof b, "%.3f [%.3f, %.3f]", num(s.at("mean")), num(s.at("ci_low")),
                num(s.at("ci_high")));
  return b;
}

void compare(const std::vector<std::string>& runs, const std::string& metric) {
  std::vector<std::string> names;
  std::vector<nlohmann::json> metrics;
  for (const std::string& r : runs) {
    const std::string m = r + "/test_metrics.json";
    FDL_CHECK(std::filesystem::exists(m), r, ": no test_metrics.json (has the run finished?)");
    names.push_back(fdl::io::read_json(r + "/config.json").value("model", r));
    metrics.push_back(fdl::io::read_json(m));
  }
  std::printf("%s on the held-out test cases: mean [95%% CI]\n%-16s", metric.c_str(), "class");
  for (const auto& n : names) std::printf(" %-26s", n.c_str());
  std::printf("\n");
  const auto& classes = metrics.front().at("classes");
  for (size_t c = 0; c < classes.size(); ++c) {
    std::printf("%-16s", classes[c].at("name").get<std::string>().c_str());
    for (size_t r = 0; r < metrics.size(); ++r) {
      const auto& cls = metrics[r].at("classes");
      FDL_CHECK(c < cls.size() && cls[c].at("class") == classes[c].at("class"), runs[r],
                ": its classes differ from ", runs.front(), "'s");
      FDL_CHECK(cls[c].at("summary").contains(metric), runs[r], ": no metric '", metric, "'");
      std::printf(" %-26s", cell(cls[c].at("summary").at(metric)).c_str());
    }
    std::printf("\n");
  }
}

const bool registered = fdl::app::add_command(
    "compare", "Compare the test-set metrics of finished runs", [](CLI::App& cmd) {
      static std::vector<std::string> runs;
      static std::string metric = "dice";
      cmd.add_option("runs", runs, "run directories")->required()->check(CLI::ExistingDirectory);
      cmd.add_option("--metric", metric, "dice, jaccard, hd95, ... (default dice)");
      cmd.callback([] { compare(runs, metric); });
    });

}  // namespace
