// The allocator's debug mode on the CPU: poisoned blocks, guards past their ends, and that
// ordinary work neither trips a guard nor changes a result.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "engine/allocator.h"
#include "engine/ops/dice.h"
#include "engine/ops/one_hot.h"
#include "models/seg_model.h"
#include "tests/support.h"

using namespace fdl;

namespace {
// Debug mode for one scope; the previous mode afterwards.
struct DebugMode {
  explicit DebugMode(bool on) : prev(Allocator::debug()) { Allocator::set_debug(on); }
  ~DebugMode() { Allocator::set_debug(prev); }
  DebugMode(const DebugMode&) = delete;
  DebugMode& operator=(const DebugMode&) = delete;
  bool prev;
};

bool all_nan(const Tensor& t) {
  for (double v : t.to_vector())
    if (!std::isnan(v)) return false;
  return true;
}

// One training-step's worth of work: loss and every parameter gradient of a small FD model.
std::vector<std::vector<double>> loss_and_grads() {
  ModelOptions opt;
  opt.base_filters = 4;
  Generator init(11);
  auto model = make_model("fd-early", opt, init);
  model->dropout_generator() = Generator(5);
  const Tensor x = test::randn({2, 1, 16, 16, 8}, 3, DType::F32);
  Generator lg(4);
  const Tensor labels = rand_uniform({2, 16, 16, 8}, 0, 1.999, lg).to(DType::I32);
  const Tensor loss = soft_dice_loss(model->forward(x), one_hot(labels, 2));
  loss.backward();
  std::vector<std::vector<double>> out{loss.to_vector()};
  for (auto& [name, p] : model->named_parameters()) out.push_back(p.grad().to_vector());
  return out;
}
}  // namespace

TEST_CASE("allocator debug: fresh and reused blocks are poisoned") {
  DebugMode on(true);
  CHECK(all_nan(Tensor::empty({3, 5, 7}, DType::F32)));
  CHECK(all_nan(Tensor::empty({2, 9}, DType::F64)));
  for (double v : Tensor::empty({11}, DType::I32).to_vector()) CHECK(v == -1);
  // The same size again gets the same block from the cache, poisoned again.
  Allocator::get(Device::CPU).empty_cache();
  const void* where = nullptr;
  {
    Tensor t = Tensor::zeros({3, 5, 7});
    where = t.raw();
  }
  const Tensor again = Tensor::empty({3, 5, 7});
  REQUIRE(again.raw() == where);
  CHECK(all_nan(again));
}

TEST_CASE("allocator debug: off, a block keeps what was there") {
  DebugMode off(false);
  Allocator::get(Device::CPU).empty_cache();
  const void* where = nullptr;
  {
    Tensor t = Tensor::full({3, 5, 7}, 2.5);
    where = t.raw();
  }
  const Tensor again = Tensor::empty({3, 5, 7});
  REQUIRE(again.raw() == where);  // the cached block
  CHECK(again.to_vector()[0] == 2.5);
}

TEST_CASE("allocator debug: a write past the end is counted when the block is released") {
  DebugMode on(true);
  Allocator::reset_guard_violations();
  {
    Tensor t = Tensor::empty({7});
    t.data<float>()[6] = 1;  // the last element: fine
  }
  CHECK(Allocator::guard_violations() == 0);
  {
    Tensor t = Tensor::empty({7});
    t.data<float>()[7] = 1;  // one past the end
  }
  CHECK(Allocator::guard_violations() == 1);
  {
    Tensor t = Tensor::empty({5}, DType::F64);
    static_cast<unsigned char*>(t.raw())[t.nbytes() + Allocator::kGuardBytes - 1] ^=
        1;  // the guard's last byte
  }
  CHECK(Allocator::guard_violations() == 2);
  // A block allocated in debug mode is still checked when released after it ends.
  Tensor late = Tensor::empty({512});
  std::memset(static_cast<char*>(late.raw()) + late.nbytes(), 0, 4);
  Allocator::set_debug(false);
  late = Tensor();
  CHECK(Allocator::guard_violations() == 3);
  Allocator::reset_guard_violations();
  CHECK(Allocator::guard_violations() == 0);
}

TEST_CASE("allocator debug: guards count in the statistics and leave no bytes in use") {
  const size_t base = Allocator::get(Device::CPU).stats().in_use;
  size_t plain = 0, guarded = 0;
  {
    DebugMode off(false);
    Tensor t = Tensor::empty({128});  // exactly 512 bytes
    plain = Allocator::get(Device::CPU).stats().in_use - base;
  }
  {
    DebugMode on(true);
    Tensor t = Tensor::empty({128});
    guarded = Allocator::get(Device::CPU).stats().in_use - base;
    Allocator::set_debug(false);  // released in the other mode: still its own size
  }
  CHECK(plain == 512);
  CHECK(guarded == 1024);
  CHECK(Allocator::get(Device::CPU).stats().in_use == base);
}

TEST_CASE("allocator debug: a model's forward and backward trip no guard and change no bit") {
  std::vector<std::vector<double>> plain, debug;
  {
    DebugMode off(false);
    plain = loss_and_grads();
  }
  Allocator::reset_guard_violations();
  {
    DebugMode on(true);
    debug = loss_and_grads();
  }
  CHECK(Allocator::guard_violations() == 0);
  REQUIRE(plain.size() == debug.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    CAPTURE(i);
    CHECK(plain[i] == debug[i]);
  }
}
