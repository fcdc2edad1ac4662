// The S2 and S4 checksums (see checksums.h).
#include "orchestrator/checksums.h"

#include <torch/torch.h>

#include <cstring>

#include "worker/mtdnn_model.h"
#include "worker/optimizer.h"

namespace mtdnn::orchestrator {

namespace {

// FNV-1a's basis and prime, but applied to whole words rather than bytes: each name
// character, then each 32-bit word of a tensor's bytes (float32 values, as the initial
// weights checksum always was; a tail of fewer than four bytes byte by byte) is XORed in
// whole and multiplied. A quarter of the multiplications of byte-wise FNV-1a over hundreds
// of megabytes of weights; the values are compared between ranks of one run, never stored.
// The schedule's hash (schedule/schedule.cc) is the byte-wise FNV-1a over little-endian
// 64-bit words: its input is small and its value is the same on every platform.
class WordFnv64 {
 public:
  void add(const std::string& name, const torch::Tensor& tensor) {
    for (char c : name) mix(static_cast<uint8_t>(c));
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();  // GPU tensors too
    const auto* bytes = static_cast<const uint8_t*>(t.data_ptr());
    const size_t n = static_cast<size_t>(t.numel()) * t.element_size();
    for (size_t i = 0; i + 4 <= n; i += 4) {
      uint32_t w;
      std::memcpy(&w, bytes + i, 4);
      mix(w);
    }
    for (size_t i = n - n % 4; i < n; ++i) mix(bytes[i]);
  }
  uint64_t value() const { return h_; }

 private:
  void mix(uint64_t word) {
    h_ ^= word;
    h_ *= 1099511628211ull;
  }
  uint64_t h_ = 14695981039346656037ull;
};

}  // namespace

uint64_t parameter_checksum(const worker::MtdnnModelImpl& model) {
  WordFnv64 h;
  for (const auto& item : model.named_parameters()) h.add(item.key(), item.value().to(torch::kFloat));
  return h.value();
}

uint64_t state_checksum(const worker::MtdnnModelImpl& model, const worker::Optimizer& optimizer) {
  WordFnv64 h;
  for (const auto& item : model.named_parameters()) h.add(item.key(), item.value());
  for (const auto& [name, t] : optimizer.state_tensors()) h.add(name, t);
  return h.value();
}

}  // namespace mtdnn::orchestrator
