// Length bucketing: which examples form a task's global batch when batches are cut from
// length-sorted windows instead of contiguous ranges, so that a batch's sequences have
// similar lengths and padding stays low. Used by the batch loader; torch-free.
//
// Rule (a deterministic function of seed, epoch, the data and the batch size; never of
// the world size, so a global batch is the same set of examples on any number of ranks):
//   - window w of a task covers its batches [w W, (w+1) W), i.e. examples
//     [w W bs, min((w+1) W bs, n)), the same examples the unbucketed batches would hold;
//   - those examples are shuffled by the keyed stream (kLengthBucket, epoch, task, w), then
//     stably sorted by length (the shuffle varies the order of equal lengths per epoch);
//   - batch k of the window takes sorted positions [(k - w W) bs, ...) with the same count
//     as its unbucketed range, so the schedule's batch sizes and hash are unchanged.
// Ranking tasks are not bucketed: their groups stay whole and in order.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace mtdnn::schedule {

struct BucketKey {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int task = 0;
};

// Example indices of batch `batch` of a task with `examples` examples and batch size
// `batch_size`, bucketed over windows of `window` batches (window >= 1; window 1 keeps each
// batch's examples and only sorts them). `length(i)` is example i's token count.
std::vector<int64_t> bucketed_batch(int64_t examples, int64_t batch_size, int64_t batch, int64_t window,
                                    const BucketKey& key, const std::function<int64_t(int64_t)>& length);

}  // namespace mtdnn::schedule
