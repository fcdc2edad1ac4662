// SplitMix64 and the draws built on it (see rng.h).
#include "schedule/rng.h"

namespace mtdnn::schedule {

namespace {
constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ULL;

uint64_t finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
}  // namespace

uint64_t mix64(uint64_t x) { return finalize(x + kGamma); }

Rng Rng::keyed(uint64_t seed, std::initializer_list<uint64_t> key) {
  uint64_t s = mix64(seed);
  for (uint64_t k : key) s = mix64(s ^ k);
  return Rng(s);
}

uint64_t Rng::next() {
  state_ += kGamma;
  return finalize(state_);
}

uint64_t Rng::below(uint64_t n) {
  // r = 2^64 mod n (in uint64 arithmetic -n is 2^64 - n). Draws in [0, 2^64 - r) are
  // uniform mod n; limit wraps to 0 when r == 0, meaning every draw is kept.
  uint64_t r = (0 - n) % n;
  uint64_t limit = 0 - r;
  uint64_t x = next();
  if (limit != 0)
    while (x >= limit) x = next();
  return x % n;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

}  // namespace mtdnn::schedule
