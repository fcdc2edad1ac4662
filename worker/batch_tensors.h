// A LocalBatch (plain padded arrays from the batch loader) as the model's tensors: row
// ranges for gradient-accumulation micro-batches (whole groups for ranking tasks), labels in
// the layout each head type expects, and the one-row placeholder that a rank with an empty
// slice runs with loss weight 0 so that its collectives line up. Used by the trainer and
// the evaluator.
#pragma once

#include <cstdint>
#include <vector>

#include "task_kinds/task_kind.h"
#include "worker/execution.h"
#include "worker/local_batch.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::worker {

// Rows [row_begin, row_end) of a local batch; for ranking tasks also the groups they hold.
struct RowRange {
  int64_t row_begin = 0, row_end = 0;
  int64_t group_begin = 0, group_end = 0;  // ranking only
  int64_t rows() const { return row_end - row_begin; }
};

// Items of a local batch: groups for grouped kinds (ranking), else rows.
int64_t local_items(const LocalBatch& batch, const task_kinds::TaskKind& kind);
int64_t range_items(const RowRange& range, const task_kinds::TaskKind& kind);

// `parts` consecutive ranges covering the batch, as even as possible in items (the first
// (items mod parts) one item longer); ranges are empty when the batch has fewer items.
std::vector<RowRange> split_micro_batches(const LocalBatch& batch, const task_kinds::TaskKind& kind, int64_t parts);

// Rows `range` as model input, T cut to their longest row: input_ids, token_type_ids,
// attention_mask (B, T) int64, group_sizes (G) for grouped kinds; with `with_labels`, one
// label tensor per head from the batch's targets (task_kinds::Targets, made by the loader):
// (items) int64 or float, or (B, T) for token-aligned targets (masked LM).
ModelInput model_input(const LocalBatch& batch, const RowRange& range, const task_kinds::TaskKind& kind,
                       bool with_labels);

// One row holding a single pad token, target 0 for every head (group of one for grouped
// kinds): what a rank whose slice is empty runs forward and backward with loss weight 0.
ModelInput placeholder_input(const task_kinds::TaskKind& kind, const TaskDef& task, int64_t pad_id = 0);

// The input on the execution device (execution.h): on CPU unchanged; on CUDA the ids, mask
// and labels copied from pinned memory on a side stream (the compute stream waits for them
// on the GPU), the attention mask also kept on the host (host_attention_mask) for token
// packing, group_sizes left on the host (the ranking head reads them there).
ModelInput to_device(ModelInput input, const ExecutionOptions& exec);

// Real (non-pad) tokens of rows `range`.
int64_t real_tokens(const LocalBatch& batch, const RowRange& range);

}  // namespace mtdnn::worker
