// `fdl phantoms -o DIR [--cases N] [--shape X Y Z] [--seed S]`: writes the synthetic QSM-like
// dataset of engine/data/phantoms.h in the MSD layout, ready for `fdl train DIR`.
#include <chrono>
#include <cstdio>
#include <memory>

#include "apps/command.h"
#include "engine/data/phantoms.h"

namespace {

struct Options {
  std::string out;
  int cases = 12;
  std::vector<int64_t> shape{64, 64, 48};
  uint64_t seed = 1;
  bool overwrite = false;
};

void run(const Options& o) {
  fdl::PhantomOptions p;
  p.cases = o.cases;
  p.shape = {o.shape[0], o.shape[1], o.shape[2]};
  p.seed = o.seed;
  p.overwrite = o.overwrite;
  const auto t0 = std::chrono::steady_clock::now();
  fdl::write_phantoms(o.out, p);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "%s: %d phantom cases of %lldx%lldx%lld (seed %llu, classes: background, red_nucleus, "
      "dentate) in %.2f s\n",
      o.out.c_str(), o.cases, (long long)o.shape[0], (long long)o.shape[1], (long long)o.shape[2],
      (unsigned long long)o.seed, s);
}

const bool registered = fdl::app::add_command(
    "phantoms", "Write a synthetic QSM-like dataset (red and dentate nuclei) in the MSD layout",
    [](CLI::App& cmd) {
      auto o = std::make_shared<Options>();
      cmd.add_option("-o,--out", o->out, "Dataset directory to write")->required();
      cmd.add_option("--cases", o->cases, "Number of cases")
          ->check(fdl::app::in_range(1, 1000))
          ->capture_default_str();
      cmd.add_option("--shape", o->shape, "Grid size X Y Z (the field of view stays 64x64x48 mm)")
          ->expected(3)
          ->check(fdl::app::in_range<int64_t>(4, 1024))
          ->capture_default_str();
      cmd.add_option("--seed", o->seed, "Random seed")
          ->check(fdl::app::in_range<uint64_t>(0, UINT64_MAX))
          ->capture_default_str();
      fdl::app::add_overwrite_option(cmd, o->overwrite);
      cmd.callback([o] { run(*o); });
    });

}  // namespace
