// The float64 gradient check of every case in the op table (engine/ops/op_cases.h) that
// differentiates: each input the case marks is checked against central differences, the
// others (a Dice target, labels) are held fixed.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "engine/ops/op_cases.h"
#include "tests/support.h"

using namespace fdl;

namespace {
// A case's inputs follow from its name (FNV-1a), so adding a case leaves the others' alone.
uint64_t seed_of(const std::string& name) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ull;
  return h;
}
}  // namespace

TEST_CASE("op cases: every op's gradient in float64 against central differences") {
  std::set<std::string> checked, all;
  for (const OpCase& c : op_cases()) {
    all.insert(c.op);
    if (!(c.checks & kGradcheck)) continue;
    CAPTURE(c.name);
    Generator gen(seed_of(c.name));
    const std::vector<Tensor> inputs = draw_inputs(c, DType::F64, gen);
    std::vector<size_t> wanted;
    std::vector<Tensor> varied;
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].requires_grad()) {
        wanted.push_back(i);
        varied.push_back(inputs[i]);
      }
    REQUIRE_MESSAGE(!varied.empty(), "a gradient check of a case with no input to differentiate");
    test::gradcheck(
        [&](const std::vector<Tensor>& v) {
          std::vector<Tensor> in = inputs;
          for (size_t j = 0; j < wanted.size(); ++j) in[wanted[j]] = v[j];
          return c.run(in);
        },
        varied, c.grad.eps, c.grad.rtol, c.grad.atol);
    checked.insert(c.op);
  }
  // Every op of the table is checked, but those that record no gradient.
  for (const char* none : {"add_", "one_hot", "spectral_split"}) all.erase(none);
  CHECK(checked == all);
}
