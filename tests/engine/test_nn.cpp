#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "engine/nn/conv3d.h"
#include "engine/nn/init.h"
#include "engine/nn/module.h"
#include "engine/ops/conv3d.h"
#include "tests/support.h"

using namespace fdl;

namespace {
// The same structure as tools/fixtures/nn_init.py's torch Net.
struct Block : Module {
  Conv3d& conv1;
  Conv3d& conv2;
  explicit Block(Generator& g)
      : conv1(register_module("conv1", std::make_shared<Conv3d>(2, 3, 3, 1, 1, false, g))),
        conv2(register_module("conv2", std::make_shared<Conv3d>(3, 3, 1, 1, 0, false, g))) {}
};

struct Net : Module {
  Tensor& scale;
  Block& enc;
  Conv3d& head;
  explicit Net(Generator& g)
      : scale(register_parameter("scale", rand_normal({3}, g))),
        enc(register_module("enc", std::make_shared<Block>(g))),
        head(register_module("head", std::make_shared<Conv3d>(3, 3, 3, 2, 1, true, g))) {}
};

// One conv registered under two names: its weights are used twice but counted once.
struct Shared : Module {
  explicit Shared(Generator& g) {
    auto c = std::make_shared<Conv3d>(2, 2, 1, 1, 0, false, g);
    register_module("first", c);
    register_parameter("own", Tensor::zeros({4}));
    register_module("again", c);
  }
  void add_param(const std::string& name) { register_parameter(name, Tensor::zeros({1})); }
};

std::string temp_path(const std::string& name) {
  static const std::filesystem::path d = test::scratch_dir("nn", "files");
  return (d / (name + ".safetensors")).string();
}

std::vector<std::string> names_of(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [n, t] : m.named_parameters()) out.push_back(n);
  return out;
}
}  // namespace

TEST_CASE("nn: parameter names and order follow torch's named_parameters") {
  Generator g(1);
  Net net(g);
  const auto fx = test::fixture("nn_module");
  const auto params = net.named_parameters();
  REQUIRE(params.size() == 5);
  for (size_t i = 0; i < params.size(); ++i) {
    CAPTURE(params[i].first);
    CHECK(test::at(fx, "index." + params[i].first).item() == double(i));
    CHECK(params[i].second.shape() == test::at(fx, params[i].first).shape());
    CHECK(params[i].second.requires_grad());
  }
  CHECK(net.num_parameters() == 3 + 3 * 2 * 27 + 3 * 3 + 3 * 3 * 27 + 3);
  CHECK(params[3].second.same(net.head.weight()));
  CHECK_FALSE(net.enc.conv1.bias().defined());

  Shared s(g);
  CHECK(names_of(s) == std::vector<std::string>{"own", "first.weight"});
  CHECK(s.num_parameters() == 8);
  CHECK_THROWS_WITH_AS(s.add_param("own"), doctest::Contains("already a parameter"), Error);
  CHECK_THROWS_WITH_AS(s.add_param("first"), doctest::Contains("already a child"), Error);
  CHECK_THROWS_WITH_AS(s.add_param("a.b"), doctest::Contains("'a.b'"), Error);
}

TEST_CASE("nn: train and eval reach every child") {
  Generator g(2);
  Net net(g);
  CHECK(net.training());
  net.train(false);
  CHECK_FALSE(net.training());
  CHECK_FALSE(net.enc.training());
  CHECK_FALSE(net.enc.conv2.training());
  net.train();
  CHECK(net.enc.conv1.training());
}

TEST_CASE("nn: a torch state loads by name and the Conv3d module matches torch") {
  Generator g(3);
  Net net(g);
  const std::string path = std::string(FDL_FIXTURES_DIR) + "/nn_module.safetensors";
  std::vector<std::string> ignored = load_parameters(net, path);
  std::sort(ignored.begin(), ignored.end());
  const auto fx = test::fixture("nn_module");
  std::vector<std::string> want_ignored{"head_out", "x"};
  for (const auto& [n, t] : net.named_parameters()) {
    test::check_close(t, test::at(fx, n), 0, 0, n);
    want_ignored.push_back("index." + n);
  }
  std::sort(want_ignored.begin(), want_ignored.end());
  CHECK(ignored == want_ignored);
  test::check_close(net.head(test::at(fx, "x")), test::at(fx, "head_out"), 1e-5, 1e-6, "head");
}

TEST_CASE("nn: save and load round trip, strict and shape errors") {
  Generator g1(4), g2(5);
  Net a(g1), b(g2);
  const std::string path = temp_path("roundtrip");
  save_parameters(a, path);
  CHECK(load_parameters(b, path).empty());
  for (size_t i = 0; i < 5; ++i)
    CHECK(a.named_parameters()[i].second.to_vector() == b.named_parameters()[i].second.to_vector());

  // A file with only the encoder's conv: strict names every missing key; non-strict loads it.
  Block blk(g1);
  const std::string part = temp_path("part");
  save_parameters(blk.conv1, part);  // holds "weight" only
  try {
    load_parameters(b.enc, part);
    FAIL("strict load of a partial file did not throw");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("'conv1.weight'") != std::string::npos);
    CHECK(msg.find("'conv2.weight'") != std::string::npos);
    CHECK(msg.find(part) != std::string::npos);
  }
  CHECK(load_parameters(b.enc, part, false) == std::vector<std::string>{"weight"});
  CHECK(load_parameters(b.enc.conv1, part).empty());
  CHECK(b.enc.conv1.weight().to_vector() == blk.conv1.weight().to_vector());

  // A shape mismatch names the key and both shapes, and leaves the module untouched.
  Conv3d wide(4, 3, 3, 1, 1, false, g1);
  save_parameters(wide, part);
  const auto before = b.enc.conv1.weight().to_vector();
  CHECK_THROWS_WITH_AS(
      load_parameters(b.enc.conv1, part),
      doctest::Contains("'weight' has shape (3, 4, 3, 3, 3) in the file but (3, 2, 3, 3, 3)"),
      Error);
  CHECK(b.enc.conv1.weight().to_vector() == before);
  std::filesystem::remove(path);
  std::filesystem::remove(part);
}

TEST_CASE("nn: default conv init has torch's bounds and a uniform spread") {
  const auto fx = test::fixture("nn_init");
  Generator g(6);
  Conv3d conv(16, 64, 3, 1, 1, true, g);
  const double bound = 1 / std::sqrt(16.0 * 27);
  CHECK(bound == doctest::Approx(test::at(fx, "w_bound").item()).epsilon(1e-12));
  CHECK(bound == doctest::Approx(test::at(fx, "b_bound").item()).epsilon(1e-12));
  // torch's own draws respect the bound and reach near it.
  CHECK(test::at(fx, "w_max_abs").item() <= bound);
  CHECK(test::at(fx, "w_max_abs").item() >= 0.999 * bound);
  CHECK(test::at(fx, "b_max_abs").item() <= bound);
  for (const Tensor& t : {conv.weight(), conv.bias()}) {
    const std::vector<double> v = t.to_vector();
    double mean = 0, sq = 0, max_abs = 0;
    for (double x : v) mean += x, sq += x * x, max_abs = std::max(max_abs, std::abs(x));
    mean /= double(v.size());
    sq /= double(v.size());
    const double n = double(v.size()), var = bound * bound / 3;
    CAPTURE(v.size());
    CHECK(max_abs <= bound);
    CHECK(max_abs >= bound * (1 - 8 / n));  // the largest of n draws lies near the bound
    CHECK(std::abs(mean) <= 5 * std::sqrt(var / n));
    CHECK(std::abs(sq - var) <= 5 * bound * bound * std::sqrt(4.0 / 45 / n));
  }
  // Same seed, same values; another seed, other values.
  Generator g_same(6), g_other(7);
  CHECK(Conv3d(16, 64, 3, 1, 1, true, g_same).weight().to_vector() == conv.weight().to_vector());
  CHECK(Conv3d(16, 64, 3, 1, 1, true, g_other).weight().to_vector() != conv.weight().to_vector());
}
