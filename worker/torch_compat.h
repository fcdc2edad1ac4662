// The differences between the two LibTorch generations mtdnn builds against, in one place:
// LibTorch 2.x (the CUDA builds inside PyTorch wheels: the default build) and Debian's
// LibTorch 1.13 (CPU; CI's second build). Everything else in the code base is written
// against the API the two share. What differs:
//   - autocast: 1.13 has one switch and one dtype per device type under its own name
//     (set_enabled / set_cpu_enabled, set_autocast_gpu_dtype / set_autocast_cpu_dtype);
//     2.4 and later take the device type as an argument and deprecate the old names.
//   - c10d: the NCCL backend calls NCCL's C API over the MPI bootstrap (comm/grad_comm_nccl.cc),
//     which is the same for both generations, so no c10d ProcessGroupNCCL header (1.13: a
//     ProcessGroup; 2.x: a Backend that must be shut down before destruction) is used.
//     ProcessGroupGloo's constructor, options and allreduce() are the same in both.
//   - fused attention: 2.x has at::scaled_dot_product_attention (flash / memory-efficient
//     kernels on GPU); 1.13 has none, and the attention runs as its formulas.
// Included only by .cc files (ATen/autocast_mode.h is heavy).
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#define MTDNN_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace mtdnn::worker::compat {

// Autocast's switch and dtype per device type.
#if MTDNN_TORCH_AT_LEAST(2, 4)
inline bool autocast_enabled(c10::DeviceType device) { return at::autocast::is_autocast_enabled(device); }
inline void set_autocast_enabled(c10::DeviceType device, bool enabled) {
  at::autocast::set_autocast_enabled(device, enabled);
}
inline at::ScalarType autocast_dtype(c10::DeviceType device) { return at::autocast::get_autocast_dtype(device); }
inline void set_autocast_dtype(c10::DeviceType device, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(device, dtype);
}
#else
inline bool is_cuda(c10::DeviceType device) { return device == c10::DeviceType::CUDA; }
inline bool autocast_enabled(c10::DeviceType device) {
  return is_cuda(device) ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
inline void set_autocast_enabled(c10::DeviceType device, bool enabled) {
  is_cuda(device) ? at::autocast::set_enabled(enabled) : at::autocast::set_cpu_enabled(enabled);
}
inline at::ScalarType autocast_dtype(c10::DeviceType device) {
  return is_cuda(device) ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
inline void set_autocast_dtype(c10::DeviceType device, at::ScalarType dtype) {
  is_cuda(device) ? at::autocast::set_autocast_gpu_dtype(dtype) : at::autocast::set_autocast_cpu_dtype(dtype);
}
#endif

// Autocast to float16 on the CPU: added in 2.3's eager mode, documented from 2.5; 2.4 is the
// first generation whose device-type API (above) this file uses, so fp16 on the CPU starts
// there. 1.13 raises "AutocastCPU only support Bfloat16".
constexpr bool kCpuFp16Autocast = MTDNN_TORCH_AT_LEAST(2, 4);

// Nesting and the cast cache: the same calls in both generations. The cache holds the
// low-precision copies of leaf weights; it must be cleared when the outermost autocast
// region ends, or the next step would read the copies of the weights before the update.
inline int autocast_enter() { return at::autocast::increment_nesting(); }
inline void autocast_exit() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

// softmax(q k^T / sqrt(D) + mask) v with dropout p on the probabilities, as one fused
// operator where LibTorch has one (kHasFusedAttention); q, k, v (B, NH, T, D), mask
// broadcastable to (B, NH, T, T), additive.
constexpr bool kHasFusedAttention = MTDNN_TORCH_AT_LEAST(2, 0);
inline at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& mask, double p) {
#if MTDNN_TORCH_AT_LEAST(2, 0)
  return at::scaled_dot_product_attention(q, k, v, mask, p, /*is_causal=*/false);
#else
  (void)q, (void)k, (void)v, (void)mask, (void)p;
  TORCH_CHECK(false, "LibTorch ", TORCH_VERSION, " has no scaled_dot_product_attention");
  return {};
#endif
}

}  // namespace mtdnn::worker::compat
