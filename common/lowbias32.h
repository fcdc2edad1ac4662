// Chris Wellons' "lowbias32" integer hash: full avalanche in two multiplies. The dropout
// masks hash (seed, element index) with it, and the model goldens derive their weights
// from it (scripts/make-model-goldens.py writes the same function in Python).
// Word: uint32_t, or a GCC vector of uint32_t, hashed lane by lane.
#pragma once

namespace mtdnn {

template <typename Word>
__attribute__((always_inline)) inline Word lowbias32(Word x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

}  // namespace mtdnn
