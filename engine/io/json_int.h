#pragma once
// Integers from JSON files. nlohmann's get<int>() and friends convert a JSON float with a C++
// cast: undefined behaviour out of range ("epoch": 1e300), a silent truncation in range
// ("shape": [2.5]). Where fdl's files hold integers, a reader checks with json_integers_fit
// before get<T>() and refuses anything else.
#include <array>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <vector>

namespace fdl::io {

namespace detail {
template <class T>
struct is_list : std::false_type {};
template <class U, class A>
struct is_list<std::vector<U, A>> : std::true_type {};
template <class U, size_t N>
struct is_list<std::array<U, N>> : std::true_type {};
}  // namespace detail

// For an integer type T: `j` is a JSON integer within T's range. For a std::vector or std::array
// of integers: every element of an array `j` is. Any other T, or a `j` of the wrong JSON type,
// passes: get<T>() reports those.
template <class T>
bool json_integers_fit(const nlohmann::json& j) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using L = std::numeric_limits<T>;
    if (j.is_number_unsigned()) return j.get<uint64_t>() <= uint64_t(L::max());
    if (j.is_number_integer()) return j.get<int64_t>() >= int64_t(L::min());  // negative here
    return !j.is_number_float();
  } else if constexpr (detail::is_list<T>::value) {
    if (!j.is_array()) return true;
    for (const auto& e : j)
      if (!json_integers_fit<typename T::value_type>(e)) return false;
    return true;
  } else {
    return true;
  }
}

}  // namespace fdl::io
