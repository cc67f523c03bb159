#pragma once
// fdl::Error: the one exception type. Its message names the file, tensor or argument at fault.
#include <sstream>
#include <stdexcept>
#include <string>

namespace fdl {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... A>
std::string concat(const A&... a) {
  std::ostringstream os;
  (os << ... << a);
  return os.str();
}
}  // namespace detail

// FDL_CHECK(cond, "message parts", ...): throws fdl::Error with the parts joined.
#define FDL_CHECK(cond, ...)                                             \
  do {                                                                   \
    if (!(cond)) throw ::fdl::Error(::fdl::detail::concat(__VA_ARGS__)); \
  } while (0)

}  // namespace fdl
