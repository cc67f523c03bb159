#pragma once
// JSON from the files a user hands fdl: dataset.json, a run's config.json, splits.json,
// state.json and test_metrics.json, a safetensors header. nlohmann parses any nesting without
// recursion, but dump() (in fdl's error messages) and the readers walk a value recursively, so
// a file of a million nested brackets would overflow the stack. No file of fdl's nests deeper
// than a few levels; kMaxJsonDepth refuses such a file before anything walks it.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace fdl::io {

constexpr int kMaxJsonDepth = 64;  // arrays and objects inside one another

// `text` as JSON. fdl::Error, starting with `name`, for invalid JSON or a nesting deeper than
// kMaxJsonDepth.
nlohmann::json parse_json(std::string_view text, const std::string& name);

// The file's whole content (read_file, atomic_file.h) parsed by parse_json; errors name `path`.
nlohmann::json read_json(const std::string& path);

}  // namespace fdl::io
