#pragma once
// Shape: up to 5 dimensions (N, C, X, Y, Z at most), stored inline.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "kernels/common/error.h"

namespace fdl {

class Shape {
 public:
  static constexpr int kMaxDims = 5;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }

  int ndim() const { return n_; }
  int64_t operator[](int i) const { return d_[index(i)]; }
  int64_t& operator[](int i) { return d_[index(i)]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < n_; ++i) n *= d_[i];
    return n;
  }
  // Product of dims from `from` to the end: the element count of one slice.
  int64_t numel_from(int from) const {
    int64_t n = 1;
    for (int i = from; i < n_; ++i) n *= d_[i];
    return n;
  }
  std::vector<int64_t> vec() const { return {d_.begin(), d_.begin() + n_}; }
  bool operator==(const Shape& o) const {
    if (n_ != o.n_) return false;
    for (int i = 0; i < n_; ++i)
      if (d_[i] != o.d_[i]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const {
    std::string s = "(";
    for (int i = 0; i < n_; ++i) s += (i ? ", " : "") + std::to_string(d_[i]);
    return s + ")";
  }

 private:
  template <class It>
  void assign(It b, It e) {
    FDL_CHECK(e - b <= kMaxDims, "Shape: at most ", kMaxDims, " dimensions, got ", e - b);
    n_ = 0;
    for (; b != e; ++b) {
      FDL_CHECK(*b >= 0, "Shape: negative dimension ", *b);
      d_[n_++] = *b;
    }
  }
  int index(int i) const {
    if (i < 0) i += n_;
    FDL_CHECK(i >= 0 && i < n_, "Shape", str(), ": no dimension ", i);
    return i;
  }
  std::array<int64_t, kMaxDims> d_{};
  int n_ = 0;
};

}  // namespace fdl
