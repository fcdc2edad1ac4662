// LocalBatch rows as model tensors (see batch_tensors.h).
#include "worker/batch_tensors.h"

#include <torch/torch.h>

#include "common/error.h"

namespace mtdnn::worker {

int64_t local_items(const LocalBatch& batch, TaskType type) {
  return type == TaskType::kRanking ? static_cast<int64_t>(batch.group_sizes.size()) : batch.B;
}

int64_t range_items(const RowRange& range, TaskType type) {
  return type == TaskType::kRanking ? range.group_end - range.group_begin : range.rows();
}

std::vector<RowRange> split_micro_batches(const LocalBatch& batch, TaskType type, int64_t parts) {
  MTDNN_CHECK(parts >= 1, "{} micro-batches", parts);
  const int64_t items = local_items(batch, type);
  // Row offset of each group (ranking): groups are consecutive rows.
  std::vector<int64_t> group_row(1, 0);
  for (int64_t k : batch.group_sizes) group_row.push_back(group_row.back() + k);
  std::vector<RowRange> out;
  int64_t item = 0;
  for (int64_t p = 0; p < parts; ++p) {
    const int64_t n = items / parts + (p < items % parts ? 1 : 0);
    RowRange r;
    if (type == TaskType::kRanking) {
      r.group_begin = item;
      r.group_end = item + n;
      r.row_begin = group_row[static_cast<size_t>(r.group_begin)];
      r.row_end = group_row[static_cast<size_t>(r.group_end)];
    } else {
      r.row_begin = item;
      r.row_end = item + n;
    }
    item += n;
    out.push_back(r);
  }
  return out;
}

int64_t real_tokens(const LocalBatch& batch, const RowRange& range) {
  int64_t n = 0;
  for (int64_t i = range.row_begin * batch.T; i < range.row_end * batch.T; ++i) n += batch.attention_mask[i] != 0;
  return n;
}

ModelInput model_input(const LocalBatch& batch, const RowRange& range, TaskType type, bool with_labels) {
  MTDNN_CHECK(range.row_begin >= 0 && range.row_end <= batch.B && range.rows() > 0, "rows [{}, {}) of a batch of {}",
              range.row_begin, range.row_end, batch.B);
  // Longest row of the range: the attention mask is 1 on a row's prefix.
  int64_t T = 0;
  for (int64_t r = range.row_begin; r < range.row_end; ++r) {
    int64_t len = 0;
    for (int64_t t = 0; t < batch.T; ++t) len += batch.attention_mask[r * batch.T + t] != 0;
    T = std::max(T, len);
  }
  auto rows = [&](const std::vector<int64_t>& v) {
    auto all = torch::from_blob(const_cast<int64_t*>(v.data()), {batch.B, batch.T}, torch::kLong);
    return all.narrow(0, range.row_begin, range.rows()).narrow(1, 0, T).clone();  // (B, T)
  };
  ModelInput in;
  in.input_ids = rows(batch.input_ids);
  in.token_type_ids = rows(batch.token_type_ids);
  in.attention_mask = rows(batch.attention_mask);
  if (type == TaskType::kRanking) {
    std::vector<int64_t> sizes(batch.group_sizes.begin() + range.group_begin, batch.group_sizes.begin() + range.group_end);
    in.group_sizes = torch::tensor(sizes, torch::kLong);  // (G)
  }
  if (!with_labels) return in;
  if (type == TaskType::kRegression) {
    MTDNN_CHECK(batch.label_kind == sharding::LabelKind::kScore, "regression batch without scores");
    in.labels = torch::from_blob(const_cast<float*>(batch.scores.data()) + range.row_begin, {range.rows()},
                                 torch::kFloat).clone();  // (B)
  } else if (type == TaskType::kRanking) {
    MTDNN_CHECK(batch.label_kind == sharding::LabelKind::kClass, "ranking batch without labels");
    std::vector<int64_t> positive;
    int64_t row = range.row_begin;
    for (int64_t g = range.group_begin; g < range.group_end; ++g) {
      const int64_t k = batch.group_sizes[static_cast<size_t>(g)];
      int64_t pos = -1;
      for (int64_t c = 0; c < k; ++c)
        if (batch.labels[static_cast<size_t>(row + c)] == 1 && pos < 0) pos = c;
      MTDNN_INPUT_CHECK(pos >= 0, "ranking group of example '{}' has no positive candidate",
                        batch.uids[static_cast<size_t>(row)]);
      positive.push_back(pos);
      row += k;
    }
    in.labels = torch::tensor(positive, torch::kLong);  // (G)
  } else {
    MTDNN_CHECK(batch.label_kind == sharding::LabelKind::kClass, "classification batch without labels");
    in.labels = torch::from_blob(const_cast<int64_t*>(batch.labels.data()) + range.row_begin, {range.rows()},
                                 torch::kLong).clone();  // (B)
  }
  return in;
}

ModelInput placeholder_input(TaskType type, int64_t pad_id) {
  ModelInput in;
  in.input_ids = torch::full({1, 1}, pad_id, torch::kLong);
  in.token_type_ids = torch::zeros({1, 1}, torch::kLong);
  in.attention_mask = torch::ones({1, 1}, torch::kLong);
  if (type == TaskType::kRegression) {
    in.labels = torch::zeros({1}, torch::kFloat);
  } else {
    in.labels = torch::zeros({1}, torch::kLong);
  }
  if (type == TaskType::kRanking) in.group_sizes = torch::ones({1}, torch::kLong);
  return in;
}

}  // namespace mtdnn::worker
