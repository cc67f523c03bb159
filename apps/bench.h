#pragma once
// `fdl bench <what>`: each benchmark adds its subcommand here.
#include "apps/command.h"

namespace fdl::app {

void add_bench_conv3d(CLI::App& bench);
void add_bench_ops(CLI::App& bench);
void add_bench_train(CLI::App& bench);

}  // namespace fdl::app
