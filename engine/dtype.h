#pragma once
// Element types and devices. float32 is the working type; float64 exists for gradient
// checks; int32 holds label maps. Half types can join the enum: storage code only needs
// dtype_size, and float kernels are reached through dispatch_float.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/common/error.h"

namespace fdl {

enum class DType : uint8_t { F32, F64, I32 };
enum class Device : uint8_t { CPU, CUDA };

inline size_t dtype_size(DType t) { return t == DType::F64 ? 8 : 4; }
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I32: return "int32";
  }
  return "?";
}
inline const char* device_name(Device d) { return d == Device::CUDA ? "cuda" : "cpu"; }

template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::F32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::F64;
};
template <>
struct dtype_of<int32_t> {
  static constexpr DType value = DType::I32;
};

template <class T>
struct type_tag {
  using type = T;
};

// Calls f(type_tag<T>{}) with T the C++ type of `t`:
//   dispatch_float(x.dtype(), [&](auto tag) { using T = typename decltype(tag)::type; ... });
template <class F>
decltype(auto) dispatch_float(DType t, F&& f) {
  switch (t) {
    case DType::F32: return f(type_tag<float>{});
    case DType::F64: return f(type_tag<double>{});
    default: break;
  }
  throw Error(std::string("expected a float tensor, got ") + dtype_name(t));
}

}  // namespace fdl
