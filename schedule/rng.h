// The one random number generator of training's data order: SplitMix64, seeded from an
// explicit key (seed, epoch, purpose, task...), with our own bounded draw and Fisher-Yates
// shuffle. Every rank computes the same stream on every platform (std::shuffle and the
// std distributions differ between standard libraries). Used by the schedule and loader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace mtdnn::schedule {

// SplitMix64 (Steele, Lea, Flood 2014; the generator Java's SplittableRandom uses):
//   state += 0x9E3779B97F4A7C15;  z = state;
//   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
//   return z ^ (z >> 31);
class Rng {
 public:
  explicit Rng(uint64_t state) : state_(state) {}
  // A stream keyed by a tuple: state = mix64(...mix64(mix64(seed) ^ k0)... ^ kn), where mix64
  // is the output function above applied to x + 0x9E3779B97F4A7C15. Distinct keys give
  // unrelated streams, so (seed, epoch, purpose, task) never share draws.
  static Rng keyed(uint64_t seed, std::initializer_list<uint64_t> key);

  uint64_t next();
  // Uniform in [0, n), n >= 1, unbiased: draws below the largest multiple of n are kept,
  // the rest rejected (rare: probability < n / 2^64), then reduced mod n.
  uint64_t below(uint64_t n);
  // Uniform in [0, 1) with 53 random bits: (next() >> 11) * 2^-53.
  double uniform();

  // Fisher-Yates, from the last position down: swap v[i] with v[below(i + 1)].
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(below(i))]);
  }

 private:
  uint64_t state_;
};

// The SplitMix64 output function on x + golden gamma: a 64-bit bijective mixer.
uint64_t mix64(uint64_t x);

// Purposes of the keyed streams, so that adding one never changes another's draws.
enum class RngPurpose : uint64_t {
  kBatchOrder = 1,    // per task: the order of its batches in an epoch
  kTaskOrder = 2,     // the epoch's task order (mix_opt, ratio)
  kTemperature = 3,   // temperature sampling: which task each step
  kLengthBucket = 4,  // per task and window: tie order before sorting by length
  kMasking = 5,       // per example: dynamic masked-LM masking
  kPretrainInstances = 6,  // per dupe and window: BERT's sentence-pair instances
};

}  // namespace mtdnn::schedule
