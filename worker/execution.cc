// Device and precision of a rank (see execution.h).
#include "worker/execution.h"

#include <torch/cuda.h>

#include "common/enum_names.h"
#include "common/error.h"
#include "worker/cuda_support.h"
#include "worker/torch_compat.h"

namespace mtdnn::worker {

namespace {
constexpr EnumName<DeviceKind> kDeviceNames[] = {
    {DeviceKind::kAuto, "auto"}, {DeviceKind::kCpu, "cpu"}, {DeviceKind::kCuda, "cuda"}};
constexpr EnumName<Precision> kPrecisionNames[] = {
    {Precision::kFp32, "fp32"}, {Precision::kBf16, "bf16"}, {Precision::kFp16, "fp16"}};
}  // namespace

DeviceKind parse_device_kind(const std::string& name) { return parse_name(kDeviceNames, name); }
const char* to_string(DeviceKind kind) { return name_of(kDeviceNames, kind); }
Precision parse_precision(const std::string& name) { return parse_name(kPrecisionNames, name); }
const char* to_string(Precision precision) { return name_of(kPrecisionNames, precision); }

std::string ExecutionOptions::describe() const { return device.str() + " " + to_string(precision); }

bool cuda_built() { return cuda::built(); }

bool cpu_fp16_autocast() { return compat::kCpuFp16Autocast; }

int cuda_device_count() { return cuda::built() ? static_cast<int>(torch::cuda::device_count()) : 0; }

ExecutionOptions resolve_execution(DeviceKind device, Precision precision, int local_rank) {
  ExecutionOptions e;
  e.precision = precision;
  const int gpus = cuda_device_count();
  if (device == DeviceKind::kCuda) {
    MTDNN_INPUT_CHECK(cuda_built(), "--device cuda: this build's LibTorch has no CUDA (build against a CUDA "
                      "LibTorch, see docs/gpu.md), or use --device cpu");
    MTDNN_INPUT_CHECK(gpus > 0, "--device cuda: no GPU is visible to this process (CUDA_VISIBLE_DEVICES, "
                      "Slurm's --gpus-per-node?)");
  }
  if (device == DeviceKind::kCuda || (device == DeviceKind::kAuto && gpus > 0))
    e.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(std::max(0, local_rank) % gpus));
  MTDNN_INPUT_CHECK(e.cuda() || precision != Precision::kFp16 || cpu_fp16_autocast(),
                    "--precision fp16 on the CPU needs LibTorch 2.4 or later (this build has {}.{}); use bf16 or "
                    "fp32 on the CPU", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR);
  return e;
}

void use_device(const ExecutionOptions& exec) {
  if (exec.cuda()) cuda::set_device(exec.device.index());
}

void synchronize(const ExecutionOptions& exec) {
  if (exec.cuda()) torch::cuda::synchronize(exec.device.index());
}

std::vector<torch::Tensor> to_device(const std::vector<torch::Tensor>& host, const ExecutionOptions& exec) {
  if (exec.device.is_cpu()) return host;
  MTDNN_CHECK(exec.cuda(), "no device copy for {}", exec.device.str());
  return cuda::copy_async(host, exec.device.index());
}

AutocastScope::AutocastScope(c10::DeviceType device, Precision precision) {
  if (precision == Precision::kFp32) return;
  active_ = true;
  device_ = device;
  was_enabled_ = compat::autocast_enabled(device);
  was_dtype_ = compat::autocast_dtype(device);
  compat::set_autocast_enabled(device, true);
  compat::set_autocast_dtype(device, precision == Precision::kFp16 ? at::kHalf : at::kBFloat16);
  compat::autocast_enter();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  compat::autocast_exit();
  compat::set_autocast_enabled(device_, was_enabled_);
  compat::set_autocast_dtype(device_, was_dtype_);
}

}  // namespace mtdnn::worker
