#pragma once
// safetensors: an 8-byte little-endian header length, a JSON header mapping each name to
// {dtype, shape, data_offsets}, then the raw little-endian tensor bytes. The format PyTorch
// users share weights in; fdl uses it for checkpoints and test fixtures.
#include <map>
#include <string>

#include "engine/tensor.h"

namespace fdl::io {

using TensorMap = std::map<std::string, Tensor>;

struct SafeTensors {
  TensorMap tensors;                            // on the CPU
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" strings
};

// fdl::Error naming the file for a header that does not match the data: offsets outside it,
// sizes that disagree with the shape, tensors that overlap or leave bytes over. The file must
// fit the memory ceiling (engine/memory_limit.h).
SafeTensors load_safetensors(const std::string& path);
// fdl::Error naming the file and tensor when a float tensor holds NaN or Inf (weights and
// optimizer state, where such a value would poison every step after it).
void require_finite(const TensorMap& tensors, const std::string& path);
// Written atomically (see atomic_file.h). Tensors on any device are copied to the host.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace fdl::io
