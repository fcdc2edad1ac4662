// The seeds and states of torch's CPU generator, which dropout and SAN step dropout draw
// from: one stream per rank, derived from --seed; saved per rank in a checkpoint under
// "rng/cpu/rank<r>" and restored on the same world size. The only place that knows the
// seed derivation and the key format.
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

namespace mtdnn::orchestrator {

// Seeds torch's generator for the model's initial weights (the same on every rank).
void seed_for_weights(uint64_t seed);
// Seeds this rank's dropout stream for a fresh run.
void seed_dropout(uint64_t seed, int rank);
// Seeds a new dropout stream for a run resumed at `step` on another world size (the
// checkpoint's streams belong to other ranks).
void seed_dropout_after_resume(uint64_t seed, int64_t step, int rank);

// The checkpoint key of rank `rank`'s generator state.
std::string generator_key(int rank);
// This process's CPU generator state (bytes), and setting it back.
std::string cpu_generator_state();
void set_cpu_generator_state(const at::Tensor& state);

}  // namespace mtdnn::orchestrator
