// Where and in what precision a rank computes: one ExecutionOptions value, made once from
// mtdnn-train's --device and --precision (resolve_execution) and passed explicitly to
// everything that places or computes tensors: the batch tensors (to_device), the model
// (MtdnnModelOptions::fused and ::precision), the evaluator, the optimizer
// (OptimizerOptions::tensor_ops) and the gradient backend (the GPU NCCL reduces on); the
// gradient reducer's buckets follow the parameters' device.
//
// CPU in float32 runs the fused CPU kernels (fused_ops.h); CUDA, and bf16 or fp16 anywhere,
// run LibTorch's operators. bf16 and fp16 are autocast for the encoder's matrix products
// (Linear, attention's two products); the master weights, their gradients, the optimizer
// state, LayerNorm, softmax and the heads with their losses stay float32. fp16 also scales
// the loss (loss_scaler.h): its 5 exponent bits would flush small gradients to zero. On CUDA, batches are
// copied from pinned memory on a side stream (cuda_support.h) so that the copy overlaps the
// compute stream's work.
#pragma once

#include <string>

#include <torch/types.h>

namespace mtdnn::worker {

enum class DeviceKind { kAuto, kCpu, kCuda };
// "auto", "cpu" or "cuda"; InputError otherwise.
DeviceKind parse_device_kind(const std::string& name);
const char* to_string(DeviceKind kind);

enum class Precision { kFp32, kBf16, kFp16 };
// "fp32", "bf16" or "fp16"; InputError otherwise.
Precision parse_precision(const std::string& name);
const char* to_string(Precision precision);

struct ExecutionOptions {
  torch::Device device = torch::kCPU;
  Precision precision = Precision::kFp32;
  bool cuda() const { return device.is_cuda(); }
  bool bf16() const { return precision == Precision::kBf16; }
  // fp16: the distributed step scales the loss (loss_scaler.h).
  bool loss_scaling() const { return precision == Precision::kFp16; }
  // The fused CPU kernels apply: CPU, float32.
  bool fused_kernels() const { return device.is_cpu() && precision == Precision::kFp32; }
  // "cpu fp32", "cuda:1 bf16".
  std::string describe() const;
};

// Whether this build's LibTorch has CUDA, and how many GPUs this process sees (0 without).
bool cuda_built();
int cuda_device_count();

// Whether this build's LibTorch autocasts to float16 on the CPU (2.4 and later; 1.13 has
// only bfloat16 there). On CUDA every supported LibTorch does.
bool cpu_fp16_autocast();

// The execution of the rank whose node-local rank is `local_rank`: auto = cuda when LibTorch
// has CUDA and a GPU is visible, else cpu; cuda takes GPU local_rank (modulo the GPUs
// visible, so that ranks beyond the GPUs share them). InputError for cuda without a GPU,
// and for fp16 on a CPU whose LibTorch cannot autocast to it.
ExecutionOptions resolve_execution(DeviceKind device, Precision precision, int local_rank);

// Makes the rank's GPU the current CUDA device: called once by the program (the trainer),
// so that streams and events of the default device are the rank's. No-op on CPU.
void use_device(const ExecutionOptions& exec);
// Waits for the device's queued work (benchmarks and tests). No-op on CPU.
void synchronize(const ExecutionOptions& exec);

// Host tensors on the execution device: on CPU the same tensors; on CUDA copies made from
// pinned memory on a side stream, which the current stream waits for (on the GPU, not the
// host).
std::vector<torch::Tensor> to_device(const std::vector<torch::Tensor>& host, const ExecutionOptions& exec);

// Autocast to bf16 or fp16 on `device`'s type for its scope, as `precision` says; nothing
// for fp32. Nests; the cast cache is cleared when the outermost scope ends (the weights change
// between steps).
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_ = c10::DeviceType::CPU;
  bool was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kFloat;
};

}  // namespace mtdnn::worker
