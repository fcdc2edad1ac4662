// Seeds and generator states (see generator_state.h).
#include "orchestrator/generator_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <mutex>

#include <fmt/format.h>

#include "schedule/rng.h"

namespace mtdnn::orchestrator {
namespace {
// Keeps the dropout streams apart from the weights' stream of the same seed.
constexpr uint64_t kDropoutSalt = 0x5eed0000ull;

uint64_t resume_seed(uint64_t seed, int64_t step, int rank) {
  return schedule::mix64(seed ^ schedule::mix64(static_cast<uint64_t>(step)) ^ (kDropoutSalt + static_cast<uint64_t>(rank)));
}

at::Generator cuda_generator(int device) {
  return at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device)));
}

}  // namespace

void seed_for_weights(uint64_t seed) { torch::manual_seed(seed); }

void seed_dropout(uint64_t seed, int rank) {
  torch::manual_seed(schedule::mix64(seed ^ (kDropoutSalt + static_cast<uint64_t>(rank))));
}

void seed_dropout_after_resume(uint64_t seed, int64_t step, int rank) { torch::manual_seed(resume_seed(seed, step, rank)); }

std::string generator_key(int rank) { return fmt::format("rng/cpu/rank{}", rank); }

std::string cpu_generator_state() {
  torch::Tensor state = at::detail::getDefaultCPUGenerator().get_state();
  return std::string(reinterpret_cast<const char*>(state.data_ptr<uint8_t>()), static_cast<size_t>(state.numel()));
}

void set_cpu_generator_state(const at::Tensor& state) {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state.contiguous().clone());
}

std::string cuda_generator_key(int rank) { return fmt::format("rng/cuda/rank{}", rank); }

std::string cuda_generator_state(int device) {
  at::Generator generator = cuda_generator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  torch::Tensor state = generator.get_state();
  return std::string(reinterpret_cast<const char*>(state.data_ptr<uint8_t>()), static_cast<size_t>(state.numel()));
}

void set_cuda_generator_state(int device, const at::Tensor& state) {
  at::Generator generator = cuda_generator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state.to(torch::kCPU).contiguous().clone());
}

void seed_cuda_dropout_after_resume(int device, uint64_t seed, int64_t step, int rank) {
  at::Generator generator = cuda_generator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_current_seed(resume_seed(seed, step, rank));
}

}  // namespace mtdnn::orchestrator
