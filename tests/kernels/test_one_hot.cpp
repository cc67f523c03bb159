#include <doctest/doctest.h>

#include <string>

#include "engine/ops/one_hot.h"
#include "tests/support.h"

using namespace fdl;

namespace {
std::string error_of(const Tensor& labels, int k) {
  try {
    one_hot(labels, k);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Tensor labels_of(const std::vector<int32_t>& v, const Shape& s) {
  Tensor t = Tensor::empty(s, DType::I32);
  std::copy(v.begin(), v.end(), t.data<int32_t>());
  return t;
}
}  // namespace

TEST_CASE("one_hot: parity with torch F.one_hot") {
  const auto fx = test::fixture("one_hot");
  const Tensor out = one_hot(test::at(fx, "labels"), 4);
  CHECK(out.dtype() == DType::F32);
  test::check_close(out, test::at(fx, "out"), 0, 0, "one_hot");
  CHECK_FALSE(out.requires_grad());
}

TEST_CASE("one_hot: large maps across many chunks") {
  const Shape s{2, 41, 37, 29};
  std::vector<int32_t> v(size_t(s.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = int32_t((i * 7919) % 3);
  const Tensor out = one_hot(labels_of(v, s), 3);
  REQUIRE(out.shape() == Shape{2, 3, 41, 37, 29});
  const int64_t vox = s.numel_from(1);
  const float* o = out.data<float>();
  int64_t wrong = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < vox; ++i)
        wrong += o[(b * 3 + c) * vox + i] != (v[size_t(b * vox + i)] == c ? 1.f : 0.f);
  CHECK(wrong == 0);
}

TEST_CASE("one_hot: out-of-range labels name the value and the class count") {
  const Shape s{2, 30, 30, 30};  // several chunks, the bad value in the second sample
  std::vector<int32_t> v(size_t(s.numel()), 1);
  v[40000] = 7;
  v[50000] = -2;
  const std::string msg = error_of(labels_of(v, s), 3);
  CHECK(msg.find("value 7") != std::string::npos);
  CHECK(msg.find("index 40000") != std::string::npos);
  CHECK(msg.find("3 classes") != std::string::npos);
  CHECK(error_of(labels_of({0, -1}, {1, 2, 1, 1}), 2).find("value -1") != std::string::npos);
  CHECK(error_of(labels_of({0, 2}, {1, 2, 1, 1}), 2).find("value 2") != std::string::npos);
  CHECK(error_of(Tensor::zeros({1, 2, 1, 1}), 2).find("int32") != std::string::npos);
  CHECK(error_of(labels_of({0, 1}, {2, 1, 1}), 2).find("4 dimensions") != std::string::npos);
}
