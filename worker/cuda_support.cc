// CUDA side of the worker (see cuda_support.h). MTDNN_WITH_CUDA is set for this file only
// (worker/CMakeLists.txt), from the top-level detection of a LibTorch with CUDA.
#include "worker/cuda_support.h"

#include "common/error.h"

#if MTDNN_WITH_CUDA
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace mtdnn::worker::cuda {

#if MTDNN_WITH_CUDA

bool built() { return true; }

void set_device(int index) { c10::cuda::set_device(static_cast<c10::DeviceIndex>(index)); }

std::vector<torch::Tensor> copy_async(const std::vector<torch::Tensor>& host, int index) {
  const auto device = static_cast<c10::DeviceIndex>(index);
  c10::cuda::CUDAGuard guard(device);
  const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream(device);
  const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device);
  std::vector<torch::Tensor> out;
  out.reserve(host.size());
  for (const auto& t : host)  // allocated on the compute stream, which uses and frees them
    out.push_back(t.defined() ? torch::empty(t.sizes(), t.options().device(torch::Device(torch::kCUDA, device)))
                              : torch::Tensor());
  {
    c10::cuda::CUDAStreamGuard on_side(side);
    for (size_t i = 0; i < host.size(); ++i) {
      if (!host[i].defined()) continue;
      // The pinned staging copy is kept alive by LibTorch's host allocator until the
      // asynchronous copy that reads it has completed.
      const torch::Tensor pinned = host[i].is_pinned() ? host[i] : host[i].contiguous().pin_memory();
      out[i].copy_(pinned, /*non_blocking=*/true);
    }
  }
  cudaEvent_t copied = nullptr;
  C10_CUDA_CHECK(cudaEventCreateWithFlags(&copied, cudaEventDisableTiming));
  C10_CUDA_CHECK(cudaEventRecord(copied, side.stream()));
  C10_CUDA_CHECK(cudaStreamWaitEvent(compute.stream(), copied, 0));
  C10_CUDA_CHECK(cudaEventDestroy(copied));  // released once the wait is satisfied
  return out;
}

#else

bool built() { return false; }

void set_device(int) { throw InputError("this build's LibTorch has no CUDA"); }

std::vector<torch::Tensor> copy_async(const std::vector<torch::Tensor>&, int) {
  throw InputError("this build's LibTorch has no CUDA");
}

#endif

}  // namespace mtdnn::worker::cuda
