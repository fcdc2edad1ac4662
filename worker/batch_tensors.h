// A LocalBatch (plain padded arrays from the batch loader) as the model's tensors: row
// ranges for gradient-accumulation micro-batches (whole groups for ranking tasks), labels in
// the layout each head type expects, and the one-row placeholder that a rank with an empty
// slice runs with loss weight 0 so that its collectives line up. Used by the trainer and
// the evaluator.
#pragma once

#include <cstdint>
#include <vector>

#include "common/task_def.h"
#include "worker/local_batch.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::worker {

// Rows [row_begin, row_end) of a local batch; for ranking tasks also the groups they hold.
struct RowRange {
  int64_t row_begin = 0, row_end = 0;
  int64_t group_begin = 0, group_end = 0;  // ranking only
  int64_t rows() const { return row_end - row_begin; }
};

// Items of a local batch: groups for ranking tasks, else rows.
int64_t local_items(const LocalBatch& batch, TaskType type);
int64_t range_items(const RowRange& range, TaskType type);

// `parts` consecutive ranges covering the batch, as even as possible in items (the first
// (items mod parts) one item longer); ranges are empty when the batch has fewer items.
std::vector<RowRange> split_micro_batches(const LocalBatch& batch, TaskType type, int64_t parts);

// Rows `range` as model input, T cut to their longest row: input_ids, token_type_ids,
// attention_mask (B, T) int64; labels when `with_labels`: classification (B) int64 class
// ids, regression (B) float scores, ranking (G) int64 index of each group's positive
// candidate, with group_sizes (G). InputError when a ranking group has no positive.
ModelInput model_input(const LocalBatch& batch, const RowRange& range, TaskType type, bool with_labels);

// One row holding a single pad token, label 0 (group of one for ranking tasks): what a rank
// whose slice is empty runs forward and backward with loss weight 0.
ModelInput placeholder_input(TaskType type, int64_t pad_id = 0);

// Real (non-pad) tokens of rows `range`.
int64_t real_tokens(const LocalBatch& batch, const RowRange& range);

}  // namespace mtdnn::worker
