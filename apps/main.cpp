// fdl: one binary, one subcommand per task. Errors reach the user as one line naming the
// file or argument at fault, with a non-zero exit.
#include <cstdio>

#include "apps/command.h"
#include "engine/memory_limit.h"
#include "kernels/common/error.h"

int main(int argc, char** argv) {
  CLI::App app{"fdl: frequency disentangled learning for 3D medical image segmentation"};
  app.fallthrough();  // --max-memory also after the subcommand
  app.add_option_function<std::string>(
         "--max-memory",
         [](const std::string& s) {
           fdl::set_memory_ceiling(fdl::parse_byte_size(s, "--max-memory"));
         },
         "The most memory one input (a volume, a weight file, a training batch) may claim, e.g. 8G "
         "(default: FDL_MAX_MEMORY, else half the physical memory); larger claims are errors")
      ->trigger_on_parse();
  fdl::app::add_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ValidationError& e) {  // a value outside its range (in_range, command.h)
    std::fprintf(stderr, "fdl: error: %s\n", e.what());
    return 1;
  } catch (const CLI::ConversionError& e) {
    std::fprintf(stderr, "fdl: error: %s\n", e.what());
    return 1;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const fdl::Error& e) {
    std::fprintf(stderr, "fdl: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fdl: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
