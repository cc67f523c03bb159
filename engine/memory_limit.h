#pragma once
// The memory ceiling: the most bytes one input (a volume, a weight file, a JSON file, a batch
// of the training grid) may make fdl allocate. Sizes taken from headers, files and options are
// checked against it with overflow-safe arithmetic before anything is allocated, so a corrupt
// or hostile header is an error naming its file, not an allocation of terabytes.
//
// The default is half the machine's physical memory. The environment variable FDL_MAX_MEMORY
// sets it, and `fdl --max-memory SIZE` overrides both; SIZE is bytes or a number with K, M, G
// or T (powers of 1024), e.g. 512M or 8G.
#include <cstdint>
#include <optional>
#include <string>

namespace fdl {

uint64_t memory_ceiling();                // fdl::Error when FDL_MAX_MEMORY is not a size
void set_memory_ceiling(uint64_t bytes);  // 0: back to the default (FDL_MAX_MEMORY, or half)

// "8G", "512M", "1.5G", "4096": bytes. fdl::Error naming `what` for anything else, or zero.
uint64_t parse_byte_size(const std::string& text, const std::string& what);
// "2.0 GiB", "512 bytes": a size for messages.
std::string byte_size_text(uint64_t bytes);

// a * b and a + b, or nothing when the result does not fit in 64 bits.
std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b);
std::optional<uint64_t> checked_add(uint64_t a, uint64_t b);

// fdl::Error "<what> needs N bytes, more than the memory ceiling of M (...)" when `bytes` (or
// an overflow, nothing) exceeds the ceiling. `what` names the file or option and the claim.
void check_memory(std::optional<uint64_t> bytes, const std::string& what);

}  // namespace fdl
