// The command line of `fdl`: the input, split at newlines and NULs, is argv after the program
// name. The app is the real one (every command's options and checks), but it stops once the
// parse is complete, before any command's callback, so nothing is read or written.
#include <vector>

#include "apps/command.h"
#include "kernels/common/error.h"

namespace {

struct Parsed {};

// CLI11 calls pre_callback() on the top app after parsing and validating, before the
// callbacks. (Removing the callbacks instead would free the options' storage they own.)
struct ParseOnly : CLI::App {
  void pre_callback() override { throw Parsed{}; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args{"fdl"};
  std::string arg;
  for (size_t i = 0; i <= size; ++i) {
    if (i == size || data[i] == '\n' || data[i] == '\0') {
      args.push_back(std::move(arg));
      arg.clear();
    } else {
      arg += char(data[i]);
    }
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ParseOnly app;
  fdl::app::add_commands(app);
  try {
    app.parse(int(argv.size()), argv.data());
  } catch (const Parsed&) {
  } catch (const CLI::ParseError&) {
  } catch (const fdl::Error&) {
  }
  return 0;
}
