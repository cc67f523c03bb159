// `fdl check DATASET_DIR`: the integrity check of a dataset (engine/data/check.h). Prints
// the layout, the cases, channels and classes, then each error and warning with its case and
// file. Exit 0 when there is no error, 1 otherwise (also when the directory does not open).
#include <cstdio>

#include "apps/command.h"
#include "engine/data/check.h"

namespace {

const bool registered =
    fdl::app::add_command("check", "Check a dataset's files before training", [](CLI::App& cmd) {
      static std::string dir;
      static fdl::DatasetOptions options;
      cmd.add_option("dataset", dir,
                     "Dataset directory (MSD or nnU-Net v2 dataset.json, or imagesTr/ + labelsTr/)")
          ->required();
      fdl::app::add_allow_outside_paths_option(cmd, options.allow_outside_paths);
      cmd.callback([] {
        const fdl::Dataset d = fdl::open_dataset(dir, options);
        std::string classes;
        for (const auto& n : d.class_names) classes += (classes.empty() ? "" : ", ") + n;
        std::printf("%s: %s layout, %zu cases, %d channel%s, %d classes (%s)\n", d.root.c_str(),
                    d.layout.c_str(), d.cases.size(), d.channels, d.channels == 1 ? "" : "s",
                    d.classes, classes.c_str());
        std::fflush(stdout);
        const fdl::CheckReport r = fdl::check_dataset(d);
        std::fputs(r.text().c_str(), stdout);
        if (!r.ok()) throw CLI::RuntimeError(1);
      });
    });

}  // namespace
