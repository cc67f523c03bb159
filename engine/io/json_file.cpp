#include "engine/io/json_file.h"

#include "engine/io/atomic_file.h"
#include "kernels/common/error.h"

namespace fdl::io {

using nlohmann::json;

json parse_json(std::string_view text, const std::string& name) {
  // The parser reports each array or object as it opens, with the number of those around it.
  const json::parser_callback_t depth_limit = [&](int depth, json::parse_event_t event, json&) {
    const bool opens =
        event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    FDL_CHECK(!opens || depth < kMaxJsonDepth, name, ": JSON nested deeper than ", kMaxJsonDepth,
              " arrays and objects");
    return true;
  };
  try {
    return json::parse(text, depth_limit);
  } catch (const json::exception& e) {
    throw Error(name + ": not valid JSON: " + e.what());
  }
}

json read_json(const std::string& path) { return parse_json(read_file(path), path); }

}  // namespace fdl::io
