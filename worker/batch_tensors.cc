// LocalBatch rows as model tensors (see batch_tensors.h).
#include "worker/batch_tensors.h"

#include <torch/torch.h>

#include "common/error.h"

namespace mtdnn::worker {

int64_t local_items(const LocalBatch& batch, const task_kinds::TaskKind& kind) {
  return kind.grouped() ? static_cast<int64_t>(batch.group_sizes.size()) : batch.B;
}

int64_t range_items(const RowRange& range, const task_kinds::TaskKind& kind) {
  return kind.grouped() ? range.group_end - range.group_begin : range.rows();
}

std::vector<RowRange> split_micro_batches(const LocalBatch& batch, const task_kinds::TaskKind& kind, int64_t parts) {
  MTDNN_CHECK(parts >= 1, "{} micro-batches", parts);
  const int64_t items = local_items(batch, kind);
  // Row offset of each group (ranking): groups are consecutive rows.
  std::vector<int64_t> group_row(1, 0);
  for (int64_t k : batch.group_sizes) group_row.push_back(group_row.back() + k);
  std::vector<RowRange> out;
  int64_t item = 0;
  for (int64_t p = 0; p < parts; ++p) {
    const int64_t n = items / parts + (p < items % parts ? 1 : 0);
    RowRange r;
    if (kind.grouped()) {
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

ModelInput model_input(const LocalBatch& batch, const RowRange& range, const task_kinds::TaskKind& kind,
                       bool with_labels) {
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
  if (kind.grouped()) {
    std::vector<int64_t> sizes(batch.group_sizes.begin() + range.group_begin, batch.group_sizes.begin() + range.group_end);
    in.group_sizes = torch::tensor(sizes, torch::kLong);  // (G)
  }
  if (!with_labels) return in;
  MTDNN_CHECK(!batch.targets.empty(), "a batch without targets");
  // Each head's targets: items (rows, or groups) of `width` values; token-aligned targets
  // (width T of the batch) are cut to the range's T like the inputs.
  const int64_t first = kind.grouped() ? range.group_begin : range.row_begin;
  const int64_t n = range_items(range, kind);
  for (const task_kinds::Targets& t : batch.targets) {
    const bool real = t.is_real();
    const int64_t items = static_cast<int64_t>(real ? t.reals.size() : t.ints.size()) / t.width;
    auto all = real ? torch::from_blob(const_cast<float*>(t.reals.data()), {items, t.width}, torch::kFloat)
                    : torch::from_blob(const_cast<int64_t*>(t.ints.data()), {items, t.width}, torch::kLong);
    auto mine = all.narrow(0, first, n);
    if (t.width == 1) {
      in.labels.push_back(mine.reshape({n}).clone());  // (items)
    } else {
      MTDNN_CHECK(t.width == batch.T, "targets of width {} in a batch of length {}", t.width, batch.T);
      in.labels.push_back(mine.narrow(1, 0, T).clone());  // (B, T)
    }
  }
  return in;
}

ModelInput to_device(ModelInput in, const ExecutionOptions& exec) {
  if (exec.device.is_cpu()) return in;
  // group_sizes stay on the host, where the ranking head reads them.
  std::vector<torch::Tensor> host = {in.input_ids, in.token_type_ids, in.attention_mask};
  host.insert(host.end(), in.labels.begin(), in.labels.end());
  std::vector<torch::Tensor> dev = worker::to_device(host, exec);
  in.host_attention_mask = in.attention_mask;
  in.input_ids = dev[0];
  in.token_type_ids = dev[1];
  in.attention_mask = dev[2];
  for (size_t i = 0; i < in.labels.size(); ++i) in.labels[i] = dev[3 + i];
  return in;
}

ModelInput placeholder_input(const task_kinds::TaskKind& kind, const TaskDef& task, int64_t pad_id) {
  ModelInput in;
  in.input_ids = torch::full({1, 1}, pad_id, torch::kLong);
  in.token_type_ids = torch::zeros({1, 1}, torch::kLong);
  in.attention_mask = torch::ones({1, 1}, torch::kLong);
  // Target 0 of every head: class 0, score 0, token 0 at the one position.
  for (const auto& head : kind.heads(task)) {
    if (head.head_type == "regression")
      in.labels.push_back(torch::zeros({1}, torch::kFloat));
    else if (head.head_type == "masked_lm")
      in.labels.push_back(torch::zeros({1, 1}, torch::kLong));
    else
      in.labels.push_back(torch::zeros({1}, torch::kLong));
  }
  if (kind.grouped()) in.group_sizes = torch::ones({1}, torch::kLong);
  return in;
}

}  // namespace mtdnn::worker
