// load_safetensors on the input; what loads must save and load again to the same tensors and
// metadata (the checkpoint round trip).
#include <cstring>

#include "engine/io/safetensors.h"
#include "fuzz/common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fdl::fuzz;
  const std::string in = scratch_path("in.safetensors"), out = scratch_path("out.safetensors");
  write_bytes(in, as_view(data, size));
  fdl::io::SafeTensors a;
  try {
    a = fdl::io::load_safetensors(in);
  } catch (const fdl::Error&) {
    return 0;
  }
  fdl::io::save_safetensors(out, a.tensors, a.metadata);
  const fdl::io::SafeTensors b = fdl::io::load_safetensors(out);
  require(a.metadata == b.metadata && a.tensors.size() == b.tensors.size(),
          "round trip: names or metadata");
  for (const auto& [name, t] : a.tensors) {
    const auto it = b.tensors.find(name);
    require(it != b.tensors.end(), "round trip: a tensor is missing");
    const fdl::Tensor& u = it->second;
    require(u.shape() == t.shape() && u.dtype() == t.dtype() &&
                std::memcmp(u.raw(), t.raw(), t.nbytes()) == 0,
            "round trip: a tensor differs");
  }
  return 0;
}
