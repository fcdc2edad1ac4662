// The checksums ranks compare in the round protocol's S2 (the initial weights) and S4 (the
// restored weights and optimizer state). Used by the trainer and the GPU tests.
#pragma once

#include <cstdint>

namespace mtdnn::worker {
class MtdnnModelImpl;
class Optimizer;
}  // namespace mtdnn::worker

namespace mtdnn::orchestrator {

// Every parameter's name and float32 values, in registration order, hashed by the word-wise
// FNV-1a variant of checksums.cc.
uint64_t parameter_checksum(const worker::MtdnnModelImpl& model);
// The parameters as they are (any dtype) and then the optimizer's state tensors.
uint64_t state_checksum(const worker::MtdnnModelImpl& model, const worker::Optimizer& optimizer);

}  // namespace mtdnn::orchestrator
