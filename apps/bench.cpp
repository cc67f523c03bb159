// `fdl bench`: fdl against PyTorch on the same work, in the same run, with the ratio.
#include "apps/bench.h"

namespace {
const bool registered =
    fdl::app::add_command("bench", "Time fdl against PyTorch", [](CLI::App& cmd) {
      cmd.require_subcommand(1);
      fdl::app::add_bench_conv3d(cmd);
      fdl::app::add_bench_ops(cmd);
      fdl::app::add_bench_train(cmd);
    });
}  // namespace
