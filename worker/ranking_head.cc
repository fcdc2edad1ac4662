// Ranking head (see ranking_head.h).
#include "worker/ranking_head.h"

#include <limits>
#include <vector>

#include <torch/torch.h>

#include "common/error.h"
#include "tensor_io/shape_format.h"

namespace mtdnn::worker {

torch::Tensor group_sizes_from_offsets(const torch::Tensor& offsets) {
  MTDNN_INPUT_CHECK(offsets.dim() == 1 && offsets.size(0) >= 1,
                    "group offsets must be a vector of G + 1 row offsets, got {}",
                    tensor_io::shape_of(offsets));
  auto o = offsets.to(torch::kCPU, torch::kLong);
  MTDNN_INPUT_CHECK(o[0].item<int64_t>() == 0, "group offsets must start at 0");
  return o.slice(0, 1) - o.slice(0, 0, -1);
}

torch::Tensor scores_by_group(const torch::Tensor& scores, const torch::Tensor& group_sizes,
                              const std::string& task) {
  MTDNN_INPUT_CHECK(group_sizes.defined() && group_sizes.dim() == 1,
                    "task '{}': a ranking batch needs group_sizes (G), got {}", task,
                    tensor_io::shape_of(group_sizes));
  auto sizes = group_sizes.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t G = sizes.size(0), B = scores.size(0);
  const int64_t* s = sizes.data_ptr<int64_t>();
  std::vector<int64_t> row, col;
  row.reserve(B);
  col.reserve(B);
  int64_t k_max = 0;
  for (int64_t g = 0; g < G; ++g) {
    MTDNN_INPUT_CHECK(s[g] > 0, "task '{}': group {} has {} candidates", task, g, s[g]);
    k_max = std::max(k_max, s[g]);
    for (int64_t k = 0; k < s[g]; ++k) {
      row.push_back(g);
      col.push_back(k);
    }
  }
  MTDNN_INPUT_CHECK(static_cast<int64_t>(row.size()) == B,
                    "task '{}': group sizes sum to {} but the batch has {} rows", task,
                    row.size(), B);
  auto index_options = torch::TensorOptions().dtype(torch::kLong).device(scores.device());
  auto rows = torch::tensor(row, torch::kLong).to(index_options.device());
  auto cols = torch::tensor(col, torch::kLong).to(index_options.device());
  auto padded = torch::full({G, k_max}, -std::numeric_limits<double>::infinity(), scores.options());
  return padded.index_put({rows, cols}, scores);  // (G, Kmax)
}

namespace {

class RankingHeadImpl : public TaskHeadImpl {
 public:
  RankingHeadImpl(const HeadSpec& spec, const BertConfig& config) : TaskHeadImpl(spec, config, 1) {}

  HeadOutput forward(const HeadInput& input, const torch::Tensor& labels) override {
    HeadOutput out{project_pooled(input).squeeze(-1), {}};  // (B) one score per candidate
    if (!labels.defined()) return out;
    auto grouped = scores_by_group(out.logits, input.group_sizes, spec().task);  // (G, Kmax)
    check_labels(spec(), labels, 1, grouped.size(0), /*integer=*/true);
    auto target = labels.to(grouped.device(), torch::kLong);
    auto sizes = input.group_sizes.to(grouped.device(), torch::kLong);
    MTDNN_INPUT_CHECK((target >= 0).logical_and(target < sizes).all().item<bool>(),
                      "task '{}': a ranking label is not the index of a candidate in its group", spec().task);
    out.loss = torch::nll_loss(torch::log_softmax(grouped, 1), target);
    return out;
  }

  // The best-scored candidate of each group.
  torch::Tensor predict(const HeadOutput& output, const HeadInput& input) const override {
    return scores_by_group(output.logits, input.group_sizes, spec().task).argmax(1);  // (G)
  }
};

}  // namespace

TaskHead make_ranking_head(const HeadSpec& spec, const BertConfig& config) {
  return std::make_shared<RankingHeadImpl>(spec, config);
}

}  // namespace mtdnn::worker
