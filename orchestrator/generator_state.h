// The seeds and states of torch's generators, which dropout and SAN step dropout draw
// from: one stream per rank, derived from --seed. The CPU generator's state is saved per
// rank in a checkpoint under "rng/cpu/rank<r>"; on a GPU, the state of the rank's device
// generator also, under "rng/cuda/rank<r>". Both are restored on the same world size; a
// checkpoint written on the CPU and resumed on a GPU gives the device generator a fresh
// stream keyed by the step (and a GPU one resumed on the CPU ignores the device key). The
// only place that knows the seed derivation and the key format.
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

// The checkpoint key of rank `rank`'s device generator state, and GPU `device`'s generator
// state and setting it back (through the device-generic generator API: no CUDA header).
std::string cuda_generator_key(int rank);
std::string cuda_generator_state(int device);
void set_cuda_generator_state(int device, const at::Tensor& state);
// Seeds GPU `device`'s generator as seed_dropout_after_resume seeds the CPU one.
void seed_cuda_dropout_after_resume(int device, uint64_t seed, int64_t step, int rank);

}  // namespace mtdnn::orchestrator
