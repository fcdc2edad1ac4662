// Padding of a rank's examples into row-major arrays (see local_batch.h).
#include "worker/local_batch.h"

#include <algorithm>

namespace mtdnn::worker {

LocalBatch make_local_batch(const std::vector<sharding::Example>& examples, sharding::LabelKind label_kind,
                            int32_t pad_id) {
  LocalBatch b;
  b.label_kind = label_kind;
  b.B = static_cast<int64_t>(examples.size());
  for (const auto& e : examples) b.T = std::max<int64_t>(b.T, static_cast<int64_t>(e.token_ids.size()));
  auto cells = static_cast<size_t>(b.B * b.T);
  b.input_ids.assign(cells, pad_id);
  b.token_type_ids.assign(cells, 0);
  b.attention_mask.assign(cells, 0);
  b.uids.reserve(examples.size());
  for (size_t r = 0; r < examples.size(); ++r) {
    const sharding::Example& e = examples[r];
    size_t row = r * static_cast<size_t>(b.T);
    for (size_t j = 0; j < e.token_ids.size(); ++j) {
      b.input_ids[row + j] = e.token_ids[j];
      b.token_type_ids[row + j] = static_cast<int64_t>(j) >= e.type_boundary ? 1 : 0;
      b.attention_mask[row + j] = 1;
    }
    b.real_tokens += static_cast<int64_t>(e.token_ids.size());
    b.uids.push_back(e.uid);
    if (label_kind == sharding::LabelKind::kClass) b.labels.push_back(e.label);
    if (label_kind == sharding::LabelKind::kScore) b.scores.push_back(e.score);
  }
  return b;
}

task_kinds::BatchRows batch_rows(LocalBatch& batch) {
  task_kinds::BatchRows rows;
  rows.B = batch.B;
  rows.T = batch.T;
  rows.input_ids = &batch.input_ids;
  rows.attention_mask = &batch.attention_mask;
  rows.label_kind = batch.label_kind;
  rows.labels = &batch.labels;
  rows.scores = &batch.scores;
  rows.group_sizes = &batch.group_sizes;
  rows.example_index = &batch.example_index;
  rows.uids = &batch.uids;
  return rows;
}

}  // namespace mtdnn::worker
