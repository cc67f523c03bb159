#pragma once
// The --device option of fdl train, predict and bench: "cpu" or "cuda", refused with a clear
// message (before anything is written) when this build or this machine has no GPU.
#include <string>

#include "engine/dtype.h"

namespace fdl::train {

// `option` names the flag in messages ("--device").
Device parse_device(const std::string& name, const char* option = "--device");

// Why --device cuda cannot run here: no CUDA in this build, or no device present. Empty when
// it can.
std::string cuda_unavailable_reason();

}  // namespace fdl::train
