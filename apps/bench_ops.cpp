// `fdl bench ops`: times the op table's timing cases (engine/ops/op_cases.h), the ops at the
// U-Net's shapes, on every device this machine has: the op alone and with its backward, in
// float32. The same table drives the gradient checks and the CPU-vs-GPU parity tests.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "apps/bench.h"
#include "engine/bench/op_bench.h"
#include "engine/device.h"
#include "kernels/common/error.h"
#include "train/device_option.h"

namespace fdl::app {

namespace {

std::vector<Device> devices_for(const std::string& device) {
  if (device == "cpu") return {Device::CPU};
  if (device == "cuda") return {train::parse_device(device)};
  if (train::cuda_unavailable_reason().empty()) return {Device::CPU, Device::CUDA};
  return {Device::CPU};
}

// Every name in `ops` is an op of the table; all of them when it is empty.
std::set<std::string> chosen_ops(const std::vector<std::string>& ops) {
  std::set<std::string> known;
  for (const OpCase& c : op_cases())
    if (c.checks & kTiming) known.insert(c.op);
  if (ops.empty()) return known;
  std::string names;
  for (const std::string& k : known) names += (names.empty() ? "" : ", ") + k;
  for (const std::string& o : ops)
    FDL_CHECK(known.count(o), "bench ops: --op '", o, "' is not one of ", names);
  return {ops.begin(), ops.end()};
}

std::string ms(double seconds) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", seconds * 1e3);
  return b;
}

void bench_ops(const std::set<std::string>& ops, const std::vector<Device>& devices, int repeat) {
  std::printf("fdl bench ops: float32, %d CPU threads, median of %d runs after one warm-up\n",
              omp_get_max_threads(), repeat);
  int width = 4;
  for (const OpCase& c : op_cases())
    if ((c.checks & kTiming) && ops.count(c.op)) width = std::max(width, int(c.name.size()));
  std::printf("%-*s", width, "case");
  for (Device d : devices)
    std::printf(" %12s %12s", (device_name(d) + std::string(" fwd ms")).c_str(),
                (device_name(d) + std::string(" +bwd ms")).c_str());
  std::printf("\n");
  for (const OpCase& c : op_cases()) {
    if (!(c.checks & kTiming) || !ops.count(c.op)) continue;
    std::printf("%-*s", width, c.name.c_str());
    std::fflush(stdout);
    for (Device d : devices) {
      const bench::OpTimes t = bench::time_op_case(c, d, repeat);
      std::printf(" %12s %12s", ms(t.forward).c_str(),
                  t.has_backward ? ms(t.forward_backward).c_str() : "-");
      std::fflush(stdout);
    }
    std::printf("\n");
  }
}

}  // namespace

void add_bench_ops(CLI::App& bench) {
  CLI::App* c = bench.add_subcommand(
      "ops", "Time every op at the network's shapes, with and without its backward");
  static std::vector<std::string> ops;
  static int repeat = 5;
  static std::string device = "all";
  c->add_option("--op", ops, "ops to time (default: all)");
  c->add_option("--repeat", repeat, "timed runs per pass (the median is shown)")
      ->check(CLI::PositiveNumber);
  c->add_option("--device", device, "cpu, cuda, or all (every device this machine has)")
      ->check(CLI::IsMember({"cpu", "cuda", "all"}))
      ->capture_default_str();
  c->callback([] {
    const std::set<std::string> chosen = chosen_ops(ops);
    bench_ops(chosen, devices_for(device), repeat);
  });
}

}  // namespace fdl::app
