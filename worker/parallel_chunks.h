// Fixed chunks of kChunkElements over a list of tensors, in tensor order: one parallel region
// runs them all (no fork and join per tensor: BERT-mini has 46 parameters, most of them
// small), and per-chunk partial sums added in chunk order give the same value on any thread
// count. Used by the optimizers' passes and the gradient reducer's copy-back.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mtdnn::worker {

inline constexpr int64_t kChunkElements = 1 << 15;

struct Chunk {
  size_t tensor;  // index into the caller's list
  int64_t begin, size;
};

inline std::vector<Chunk> chunks_of(const std::vector<int64_t>& numels) {
  std::vector<Chunk> out;
  for (size_t t = 0; t < numels.size(); ++t)
    for (int64_t b = 0; b < numels[t]; b += kChunkElements)
      out.push_back({t, b, std::min(kChunkElements, numels[t] - b)});
  return out;
}

// fn(chunk index, chunk) for every chunk, on the intra-op threads.
template <typename Fn>
void for_each_chunk(const std::vector<Chunk>& chunks, Fn&& fn) {
  at::parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) fn(static_cast<size_t>(c), chunks[static_cast<size_t>(c)]);
  });
}

// The partial sums of the chunks, added in chunk order.
inline double sum_in_order(const std::vector<double>& partial) {
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace mtdnn::worker
