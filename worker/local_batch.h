// One rank's part of a global batch, padded, as plain row-major arrays that the trainer
// wraps in tensors without copying (torch::from_blob). Made by the batch loader from the
// examples the schedule assigns to this rank.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schedule/schedule.h"
#include "sharding/example.h"
#include "sharding/shard_format.h"
#include "task_kinds/task_kind.h"

namespace mtdnn::worker {

struct LocalBatch {
  int64_t step = 0;                      // index of the entry in the epoch schedule
  schedule::ScheduleEntry entry;                   // the global batch this is part of
  int64_t B = 0, T = 0;                  // local rows; longest local sequence (0 when B == 0)
  std::vector<int64_t> input_ids;        // (B, T) token ids, pad_id after each sequence
  std::vector<int64_t> token_type_ids;   // (B, T) 0 up to the type boundary, 1 after, 0 on padding
  std::vector<int64_t> attention_mask;   // (B, T) 1 on real tokens, 0 on padding
  sharding::LabelKind label_kind = sharding::LabelKind::kNone;
  std::vector<int64_t> labels;           // (B) class ids (ranking: 1 = positive candidate); kClass only
  std::vector<float> scores;             // (B) regression targets; kScore only
  std::vector<int64_t> group_sizes;      // ranking: K per group, consecutive rows, summing to B
  std::vector<std::string> uids;         // (B)
  std::vector<int64_t> example_index;    // (B) index of each row in the task's split
  int64_t real_tokens = 0;               // sum of the rows' lengths (non-pad positions)
  std::vector<task_kinds::Targets> targets;  // per head of the task, by its kind (may rewrite input_ids)
};

// The batch as a task kind reads it (task_kinds::BatchRows), pointing into `batch`.
task_kinds::BatchRows batch_rows(LocalBatch& batch);

// Pads `examples` (rows in order) into a LocalBatch; T is their longest length.
LocalBatch make_local_batch(const std::vector<sharding::Example>& examples, sharding::LabelKind label_kind,
                            int32_t pad_id);

}  // namespace mtdnn::worker
