// Length bucketing within windows of batches (see length_buckets.h).
#include "schedule/length_buckets.h"

#include <algorithm>
#include <numeric>

#include "common/error.h"
#include "schedule/rng.h"

namespace mtdnn::schedule {

std::vector<int64_t> bucketed_batch(int64_t examples, int64_t batch_size, int64_t batch, int64_t window,
                                    const BucketKey& key, const std::function<int64_t(int64_t)>& length) {
  MTDNN_CHECK(batch_size > 0 && window > 0, "batch size {} and window {} must be positive", batch_size, window);
  MTDNN_CHECK(batch >= 0 && batch * batch_size < examples, "batch {} outside a task of {} examples", batch, examples);
  int64_t w = batch / window;
  int64_t first = w * window * batch_size, last = std::min(first + window * batch_size, examples);
  std::vector<int64_t> order(static_cast<size_t>(last - first));
  std::iota(order.begin(), order.end(), first);
  Rng rng = Rng::keyed(key.seed, {static_cast<uint64_t>(RngPurpose::kLengthBucket), static_cast<uint64_t>(key.epoch),
                                  static_cast<uint64_t>(key.task), static_cast<uint64_t>(w)});
  rng.shuffle(order);
  std::vector<int64_t> lengths(order.size());
  for (size_t i = 0; i < order.size(); ++i) lengths[i] = length(order[i]);
  std::vector<size_t> by_length(order.size());
  std::iota(by_length.begin(), by_length.end(), size_t{0});
  std::stable_sort(by_length.begin(), by_length.end(), [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  int64_t begin = batch * batch_size - first, end = std::min(begin + batch_size, last - first);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(end - begin));
  for (int64_t p = begin; p < end; ++p) out.push_back(order[by_length[static_cast<size_t>(p)]]);
  return out;
}

}  // namespace mtdnn::schedule
