#include "engine/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/io/json_int.h"

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
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, hlen));
  } catch (const std::exception& e) {
    throw Error(path + ": bad safetensors header: " + e.what());
  }
  FDL_CHECK(header.is_object(), path, ": safetensors header is not a JSON object");
  const size_t base = 8 + size_t(hlen), data_len = bytes.size() - base;
  SafeTensors out;
  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      for (auto& [k, s] : v.items())
        if (s.is_string()) out.metadata[k] = s.get<std::string>();
      continue;
    }
    try {
      const DType dt = parse_dtype(v.at("dtype").get<std::string>(), path, name);
      FDL_CHECK(json_integers_fit<std::vector<int64_t>>(v.at("shape")) &&
                    json_integers_fit<std::vector<uint64_t>>(v.at("data_offsets")),
                path, ": tensor '", name,
                "' has a shape or data offset that is not an integer in range");
      const Shape shape(v.at("shape").get<std::vector<int64_t>>());
      // numel() and the byte count must not overflow (wrapped, they could match the offsets):
      // the dims' product with zeros taken as 1 bounds every partial product numel() forms.
      int64_t most = int64_t(dtype_size(dt));
      for (int i = 0; i < shape.ndim(); ++i)
        FDL_CHECK(!__builtin_mul_overflow(most, std::max<int64_t>(shape[i], 1), &most), path,
                  ": tensor '", name, "' has shape ", shape.str(), ", too large to address");
      const auto off = v.at("data_offsets").get<std::vector<uint64_t>>();
      FDL_CHECK(off.size() == 2 && off[0] <= off[1] && off[1] <= data_len, path, ": tensor '",
                name, "' has data offsets outside the file");
      FDL_CHECK(off[1] - off[0] == uint64_t(shape.numel()) * dtype_size(dt), path, ": tensor '",
                name, "' has ", off[1] - off[0], " bytes for shape ", shape.str());
      Tensor t = Tensor::empty(shape, dt);
      std::memcpy(t.raw(), bytes.data() + base + off[0], t.nbytes());
      out.tensors.emplace(name, std::move(t));
    } catch (const nlohmann::json::exception& e) {
      throw Error(path + ": bad entry for tensor '" + name + "': " + e.what());
    }
  }
  return out;
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
