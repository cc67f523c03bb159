#include "engine/io/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <tuple>

#include "engine/io/atomic_file.h"
#include "engine/io/json_file.h"
#include "engine/io/json_int.h"
#include "engine/memory_limit.h"

namespace fdl::io {

namespace {
const char* st_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
  }
  return "?";
}

DType parse_dtype(const std::string& s, const std::string& path, const std::string& name) {
  if (s == "F32") return DType::F32;
  if (s == "F64") return DType::F64;
  if (s == "I32") return DType::I32;
  throw Error(path + ": tensor '" + name + "' has dtype " + s + ", which fdl does not read");
}
}  // namespace

SafeTensors load_safetensors(const std::string& path) {
  const std::string bytes = read_file(path);
  FDL_CHECK(bytes.size() >= 8, path, ": not a safetensors file (", bytes.size(), " bytes)");
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | uint8_t(bytes[size_t(i)]);
  FDL_CHECK(hlen <= bytes.size() - 8, path, ": header length ", hlen, " exceeds the file size ",
            bytes.size());
  const nlohmann::json header =
      parse_json(std::string_view(bytes).substr(8, hlen), path + ": the safetensors header");
  FDL_CHECK(header.is_object(), path, ": safetensors header is not a JSON object");
  const size_t base = 8 + size_t(hlen), data_len = bytes.size() - base;
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  SafeTensors out;
  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      for (auto& [k, s] : v.items())
        if (s.is_string()) out.metadata[k] = s.get<std::string>();
      continue;
    }
    try {
      // get<> of a float or an out-of-range number into an integer is undefined: check first.
      FDL_CHECK(json_integers_fit<std::vector<int64_t>>(v.at("shape")) &&
                    json_integers_fit<std::vector<uint64_t>>(v.at("data_offsets")),
                path, ": tensor '", name,
                "' has a shape or data offset that is not an integer in range");
      Entry e{name, parse_dtype(v.at("dtype").get<std::string>(), path, name),
              v.at("shape").get<std::vector<int64_t>>(), 0, 0};
      const auto off = v.at("data_offsets").get<std::vector<uint64_t>>();
      FDL_CHECK(off.size() == 2 && off[0] <= off[1] && off[1] <= data_len, path, ": tensor '", name,
                "' has data offsets outside the file");
      e.begin = off[0], e.end = off[1];
      FDL_CHECK(int(e.shape.size()) <= Shape::kMaxDims, path, ": tensor '", name, "' has ",
                e.shape.size(), " dimensions; fdl reads at most ", Shape::kMaxDims);
      std::optional<uint64_t> size = dtype_size(e.dtype);  // in bytes, overflow-checked
      for (int64_t d : e.shape) {
        FDL_CHECK(d >= 0, path, ": tensor '", name, "' has the negative dimension ", d);
        if (size) size = checked_mul(*size, uint64_t(d));
      }
      FDL_CHECK(size && *size == e.end - e.begin, path, ": tensor '", name, "' has ",
                e.end - e.begin, " bytes for shape ", nlohmann::json(e.shape).dump());
      entries.push_back(std::move(e));
    } catch (const nlohmann::json::exception& e) {
      throw Error(path + ": bad entry for tensor '" + name + "': " + e.what());
    }
  }
  // The tensors must tile the data exactly, as the format requires: no byte read twice, none
  // left over (an overlap or a gap is a corrupt or hand-made file).
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  uint64_t at = 0;
  const std::string* prev = nullptr;
  for (const Entry& e : entries) {
    FDL_CHECK(e.begin >= at, path, ": tensors '", *prev, "' and '", e.name, "' overlap (bytes ",
              e.begin, "..", at, " of the data)");
    FDL_CHECK(e.begin == at, path, ": data bytes ", at, "..", e.begin, " belong to no tensor");
    at = e.end;
    prev = &e.name;
  }
  FDL_CHECK(at == data_len, path, ": ", data_len - at,
            " trailing data bytes after the last tensor (", data_len,
            " bytes of data, the tensors use ", at, ")");
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(Shape(e.shape), e.dtype);
    std::memcpy(t.raw(), bytes.data() + base + e.begin, t.nbytes());
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

void require_finite(const TensorMap& tensors, const std::string& path) {
  for (const auto& [name, t] : tensors) {
    if (t.dtype() == DType::I32) continue;
    const Tensor f = t.to(Device::CPU).to(DType::F64);
    const double* p = f.data<double>();
    const int64_t bad = std::count_if(p, p + f.numel(), [](double x) { return !std::isfinite(x); });
    FDL_CHECK(bad == 0, path, ": tensor '", name, "' holds ", bad, " NaN or Inf values");
  }
}

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t off = 0;
  for (auto& [name, t] : tensors) {
    header[name] = {{"dtype", st_dtype(t.dtype())},
                    {"shape", t.shape().vec()},
                    {"data_offsets", {off, off + t.nbytes()}}};
    off += t.nbytes();
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned, as the format advises
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((uint64_t(h.size()) >> (8 * i)) & 0xff);
  bytes += h;
  bytes.reserve(bytes.size() + off);
  for (auto& [name, t] : tensors) {
    const Tensor host = t.to(Device::CPU);
    bytes.append(static_cast<const char*>(host.raw()), host.nbytes());
  }
  write_file_atomic(path, bytes);
}

}  // namespace fdl::io
