#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/ops/elementwise.h"
#include "tests/support.h"

using namespace fdl;

TEST_CASE("tensor: shape, fill, clone and dtype conversion") {
  Tensor t = Tensor::full({2, 3, 4}, 1.5);
  CHECK(t.numel() == 24);
  CHECK(t.shape() == Shape{2, 3, 4});
  Tensor c = t.clone();
  c.fill_(2.0);
  CHECK(t.to_vector()[5] == 1.5);
  CHECK(c.to_vector()[5] == 2.0);
  Tensor d = c.to(DType::F64);
  CHECK(d.dtype() == DType::F64);
  CHECK(d.data<double>()[23] == 2.0);
  CHECK_THROWS_AS(d.data<float>(), Error);
  CHECK_THROWS_AS(t.reshape({5, 5}), Error);
  CHECK_THROWS_AS((Shape{1, 2, 3, 4, 5, 6}), Error);
}

TEST_CASE("allocator: caches freed blocks and tracks the peak") {
  auto& a = Allocator::get(Device::CPU);
  a.reset_peak();
  const size_t before = a.stats().in_use;
  {
    Tensor big = Tensor::empty({1 << 20});
    CHECK(a.stats().in_use >= before + (4u << 20));
  }
  CHECK(a.stats().in_use == before);
  CHECK(a.stats().peak >= before + (4u << 20));
  const size_t reserved = a.stats().reserved;
  {
    Tensor again = Tensor::empty({1 << 20});
    CHECK(a.stats().reserved == reserved);
  }
}

TEST_CASE("autograd: accumulation over shared inputs, no_grad, and freed saved tensors") {
  Tensor x = Tensor::from_vector(std::vector<double>{-1.0, 2.0}, {2}).set_requires_grad(true);
  Tensor y = add(sigmoid(x), sigmoid(x));  // two paths into x
  y.backward(Tensor::full({2}, 1.0, DType::F64));
  const auto g = x.grad().to_vector();
  for (int i = 0; i < 2; ++i) {
    const double s = 1 / (1 + std::exp(-x.to_vector()[i]));
    CHECK(g[i] == doctest::Approx(2 * s * (1 - s)).epsilon(1e-12));
  }
  CHECK_THROWS_AS(y.backward(Tensor::full({2}, 1.0, DType::F64)), Error);  // graph freed
  {
    autograd::NoGrad ng;
    CHECK_FALSE(sigmoid(x).requires_grad());
  }
  // Gradients accumulate across backward calls until reset.
  add(x, x).backward(Tensor::full({2}, 1.0, DType::F64));
  CHECK(x.grad().to_vector()[0] == doctest::Approx(g[0] + 2.0));
  // A seed of another dtype (or device) is refused, naming both.
  try {
    add(x, x).backward(Tensor::full({2}, 1.0, DType::F32));
    FAIL("a float32 seed for a float64 tensor was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("float32 on cpu") != std::string::npos);
  }
}

// The ops' gradient checks are in the op table (test_op_cases.cpp).
TEST_CASE("gradcheck: reshape") {
  test::gradcheck([](auto& in) { return in[0].reshape({15}); }, {test::randn({5, 3}, 6)});
}

TEST_CASE("safetensors: round trip with metadata, and bad files name themselves") {
  const std::string path =
      (std::filesystem::temp_directory_path() / "fdl_st_test.safetensors").string();
  io::TensorMap m{{"a", test::randn({2, 3}, 7, DType::F32)}, {"b", test::randn({4}, 8)}};
  io::save_safetensors(path, m, {{"format", "pt"}});
  const auto back = io::load_safetensors(path);
  CHECK(back.metadata.at("format") == "pt");
  CHECK(back.tensors.at("a").to_vector() == m.at("a").to_vector());
  CHECK(back.tensors.at("b").dtype() == DType::F64);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fputs("garbage", f);
  std::fclose(f);
  try {
    io::load_safetensors(path);
    FAIL("no error for a garbage file");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find(path) != std::string::npos);
  }
  std::filesystem::remove(path);
}

TEST_CASE("elementwise ops match PyTorch") {
  const auto fx = test::fixture("elementwise");
  const Tensor& a = test::at(fx, "a");
  const Tensor& gy = test::at(fx, "gy");
  test::check_close(add(a, test::at(fx, "b")), test::at(fx, "add"), 0, 0, "add");
  for (const char* op : {"sigmoid", "leaky_relu"}) {
    Tensor x = a.clone().set_requires_grad(true);
    const Tensor y = std::string(op) == "sigmoid" ? sigmoid(x) : leaky_relu(x, 0.01);
    test::check_close(y, test::at(fx, op), 1e-6, 1e-7, op);
    y.backward(gy);
    // float32: y(1-y) rounds differently from PyTorch's expression by about an ulp.
    test::check_close(x.grad(), test::at(fx, std::string("g_") + op), 1e-5, 1e-6,
                      std::string(op) + " gradient");
  }
}
