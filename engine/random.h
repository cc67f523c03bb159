#pragma once
// Generator: a seeded counter-based random stream. Each draw of n numbers advances the
// counter by ceil(n/4) blocks, so the state (seed, offset) fully describes the stream and
// the CPU and GPU draw the same numbers.
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace fdl {

struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;  // Philox blocks used so far
  explicit Generator(uint64_t s = 0) : seed(s) {}

  // Reserves n numbers and returns the offset they start at.
  uint64_t reserve(uint64_t n) {
    const uint64_t at = offset;
    offset += (n + 3) / 4;
    return at;
  }
};

// Tensors of fresh random numbers (CPU, float32 unless asked).
Tensor rand_uniform(const Shape& s, double lo, double hi, Generator& g, DType t = DType::F32);
Tensor rand_normal(const Shape& s, Generator& g, DType t = DType::F32);
// A permutation of 0..n-1 (Fisher-Yates on n Philox uniforms of 24 bits: unbiased enough for
// any dataset size here), advancing g by n.
std::vector<int> random_permutation(int n, Generator& g);

// The Philox key of item `index` of round `round` (an epoch) of the stream `seed`: a pure
// function, so work keyed by it may run in any order or thread. Distinct triples give
// independent keys.
uint64_t item_key(uint64_t seed, int64_t round, int64_t index);

}  // namespace fdl
