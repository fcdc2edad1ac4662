// The CUDA-specific code of the worker, behind plain functions: the only translation unit
// that includes CUDA headers (cuda_support.cc, which compiles them only when the LibTorch
// found has CUDA: MTDNN_WITH_CUDA). Without CUDA, built() is false and the rest throws.
// Used by execution.cc.
#pragma once

#include <vector>

#include <torch/types.h>

namespace mtdnn::worker::cuda {

bool built();
// Sets the current CUDA device.
void set_device(int index);
// Copies `host` (pinned when it is not) to GPU `index` on a side stream from LibTorch's
// pool; the current stream waits for the copies. The results are allocated on the current
// stream, where they are used.
std::vector<torch::Tensor> copy_async(const std::vector<torch::Tensor>& host, int index);

}  // namespace mtdnn::worker::cuda
