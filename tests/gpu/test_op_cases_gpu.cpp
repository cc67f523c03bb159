// Every case of the op table (engine/ops/op_cases.h) on the GPU against the CPU, forward and
// backward, in float32 and float64, through the harness (tests/gpu/harness.h): fresh random
// inputs, the allocator poisoning blocks, each schedule order giving the same bits.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

#include "engine/ops/op_cases.h"
#include "tests/gpu/harness.h"

using namespace fdl;
using namespace fdl::gpu_test;

namespace {

// The families of the test cases below; every op of the table with parity cases is in one.
const std::set<std::string> kElementwise{"add", "add_", "scale", "sigmoid", "leaky_relu"};
const std::set<std::string> kLayers{"concat_channels", "upsample_nearest2x", "dropout3d",
                                    "one_hot"};
const std::set<std::string> kNorms{"instance_norm", "instance_norm_leaky_relu"};
const std::set<std::string> kRest{"soft_dice_loss", "spectral_split", "spectral_fuse", "conv3d"};

// Runs every parity case of the ops in `family`; CHECKs that each op has one.
void check_family(const std::set<std::string>& family) {
  FDL_GPU_RNG(rng);
  std::set<std::string> seen;
  for (DType t : {DType::F32, DType::F64})
    for (const OpCase& c : op_cases()) {
      if (!(c.checks & kParity) || !family.count(c.op)) continue;
      const bool floats = std::any_of(c.inputs.begin(), c.inputs.end(),
                                      [](const Input& in) { return in.fill != Fill::Labels; });
      if (t == DType::F64 && !floats) continue;  // labels alone: the dtype changes nothing
      INFO(std::string(dtype_name(t)), ", tolerance ", c.tol.of(t), ": ", std::string(c.tol.why));
      check_op(c.name, c.run, draw_inputs(c, t, rng.generator()), c.tol.of(t), rng);
      seen.insert(c.op);
    }
  CHECK(seen == family);
}

}  // namespace

TEST_CASE("gpu op cases: every op with parity cases belongs to a family below") {
  for (const OpCase& c : op_cases()) {
    if (!(c.checks & kParity)) continue;
    CAPTURE(c.name);
    CHECK((kElementwise.count(c.op) + kLayers.count(c.op) + kNorms.count(c.op) +
           kRest.count(c.op)) == 1);
  }
}

TEST_CASE("gpu op cases: add, add_, scale, sigmoid and leaky ReLU") { check_family(kElementwise); }
TEST_CASE("gpu op cases: concat, upsample, dropout and one_hot") { check_family(kLayers); }
TEST_CASE("gpu op cases: instance norm, plain and fused with leaky ReLU") { check_family(kNorms); }
TEST_CASE("gpu op cases: Dice loss, spectral split and fusion, conv3d") { check_family(kRest); }
