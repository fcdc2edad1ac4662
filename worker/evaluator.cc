// Sharded evaluation, metrics and GLUE submission files (see evaluator.h).
#include "worker/evaluator.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "worker/batch_loader.h"
#include "worker/batch_tensors.h"
#include "worker/local_batch.h"
#include "worker/metrics.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::worker {

namespace {

struct EvalBatch {
  std::vector<int64_t> examples;
  std::vector<int64_t> group_sizes;  // ranking
};

std::vector<EvalBatch> make_eval_batches(const sharding::SplitReader& reader, TaskType type, int64_t batch_size) {
  MTDNN_CHECK(batch_size >= 1, "evaluation batch size {}", batch_size);
  std::vector<EvalBatch> out;
  if (type == TaskType::kRanking) {
    schedule::TaskSizes sizes = task_sizes_of(reader);
    const int64_t groups = sizes.items();
    for (int64_t g0 = 0; g0 < groups; g0 += batch_size) {
      const int64_t g1 = std::min(groups, g0 + batch_size);
      EvalBatch b;
      for (int64_t g = g0; g < g1; ++g) b.group_sizes.push_back(sizes.example_of(g + 1) - sizes.example_of(g));
      b.examples.resize(static_cast<size_t>(sizes.example_of(g1) - sizes.example_of(g0)));
      std::iota(b.examples.begin(), b.examples.end(), sizes.example_of(g0));
      out.push_back(std::move(b));
    }
    return out;
  }
  // Sorted by length (ties by index): little padding, and the same batches on any world size.
  std::vector<int64_t> order(static_cast<size_t>(reader.size()));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::vector<int64_t> length(order.size());
  for (int64_t i = 0; i < reader.size(); ++i) length[static_cast<size_t>(i)] = reader.length(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return length[static_cast<size_t>(a)] < length[static_cast<size_t>(b)]; });
  for (size_t i = 0; i < order.size(); i += static_cast<size_t>(batch_size)) {
    EvalBatch b;
    b.examples.assign(order.begin() + static_cast<std::ptrdiff_t>(i),
                      order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), i + batch_size)));
    out.push_back(std::move(b));
  }
  return out;
}

// This rank's predictions, one row per example, before the gather.
struct LocalRows {
  std::vector<int64_t> index, predicted, gold;
  std::vector<double> score, gold_score;
  std::vector<std::string> uids;
};

void predict_batch(MtdnnModelImpl& model, const TaskDef& task, const sharding::SplitReader& reader,
                   const EvalBatch& eb, LocalRows* rows) {
  std::vector<sharding::Example> examples;
  examples.reserve(eb.examples.size());
  for (int64_t i : eb.examples) examples.push_back(reader.get(i));
  LocalBatch b = make_local_batch(examples, reader.label_kind(), 0);
  b.group_sizes = eb.group_sizes;
  RowRange all{0, b.B, 0, static_cast<int64_t>(b.group_sizes.size())};
  ModelInput in = model_input(b, all, task.task_type, false);
  HeadOutput out = model.forward(task.name, in);
  torch::Tensor logits = out.logits.to(torch::kFloat).contiguous();
  std::vector<int64_t> predicted(static_cast<size_t>(b.B), 0);
  std::vector<double> score(static_cast<size_t>(b.B), 0.0);
  if (task.task_type == TaskType::kClassification) {
    // (B, C): class scores (log-probabilities for SAN heads; softmax gives probabilities either way).
    auto prob = torch::softmax(logits.view({b.B, -1}), -1);
    auto arg = prob.argmax(-1);
    auto pick = prob.size(1) == 2 ? prob.select(1, 1) : std::get<0>(prob.max(-1));
    for (int64_t r = 0; r < b.B; ++r) {
      predicted[static_cast<size_t>(r)] = arg[r].item<int64_t>();
      score[static_cast<size_t>(r)] = pick[r].item<double>();
    }
  } else {
    auto s = logits.view({-1});  // (B) scores
    MTDNN_CHECK(s.size(0) == b.B, "task '{}': {} scores for {} rows", task.name, s.size(0), b.B);
    for (int64_t r = 0; r < b.B; ++r) score[static_cast<size_t>(r)] = s[r].item<double>();
  }
  for (int64_t r = 0; r < b.B; ++r) {
    const size_t i = static_cast<size_t>(r);
    rows->index.push_back(eb.examples[i]);
    rows->predicted.push_back(predicted[i]);
    rows->score.push_back(score[i]);
    rows->gold.push_back(b.label_kind == sharding::LabelKind::kClass ? b.labels[i] : -1);
    rows->gold_score.push_back(b.label_kind == sharding::LabelKind::kScore ? b.scores[i] : 0.0);
    rows->uids.push_back(b.uids[i]);
  }
}

}  // namespace

SplitPredictions predict_split(MtdnnModelImpl& model, const TaskDef& task,
                               const sharding::SplitReader& reader, int64_t batch_size, comm::ControlPlane& plane) {
  const auto batches = make_eval_batches(reader, task.task_type, batch_size);
  LocalRows rows;
  {
    const bool was_training = model.is_training();
    model.eval();
    torch::NoGradGuard no_grad;
    for (size_t c = static_cast<size_t>(plane.rank()); c < batches.size(); c += static_cast<size_t>(plane.size()))
      predict_batch(model, task, reader, batches[c], &rows);
    model.train(was_training);
  }
  nlohmann::json mine = {{"index", rows.index}, {"predicted", rows.predicted}, {"score", rows.score},
                         {"gold", rows.gold},   {"gold_score", rows.gold_score}, {"uids", rows.uids}};
  std::vector<uint8_t> packed = nlohmann::json::to_msgpack(mine);
  std::vector<std::string> all = plane.allgather(std::string(packed.begin(), packed.end()));

  SplitPredictions p;
  p.task = task.name;
  p.split = reader.split().split;
  p.has_labels = reader.label_kind() != sharding::LabelKind::kNone;
  if (plane.rank() != 0) return p;
  const size_t n = static_cast<size_t>(reader.size());
  p.uids.resize(n);
  p.predicted.assign(n, 0);
  p.score.assign(n, 0.0);
  p.gold.assign(n, -1);
  p.gold_score.assign(n, 0.0);
  std::vector<bool> seen(n, false);
  for (const std::string& bytes : all) {
    nlohmann::json j = nlohmann::json::from_msgpack(bytes);
    auto index = j["index"].get<std::vector<int64_t>>();
    auto predicted = j["predicted"].get<std::vector<int64_t>>();
    auto score = j["score"].get<std::vector<double>>();
    auto gold = j["gold"].get<std::vector<int64_t>>();
    auto gold_score = j["gold_score"].get<std::vector<double>>();
    auto uids = j["uids"].get<std::vector<std::string>>();
    for (size_t k = 0; k < index.size(); ++k) {
      const size_t i = static_cast<size_t>(index[k]);
      MTDNN_CHECK(i < n && !seen[i], "evaluation of {}/{}: example {} predicted twice or out of range", task.name,
                  p.split, i);
      seen[i] = true;
      p.uids[i] = uids[k];
      p.predicted[i] = predicted[k];
      p.score[i] = score[k];
      p.gold[i] = gold[k];
      p.gold_score[i] = gold_score[k];
    }
  }
  MTDNN_CHECK(std::all_of(seen.begin(), seen.end(), [](bool s) { return s; }), "evaluation of {}/{}: examples missing",
              task.name, p.split);
  if (task.task_type == TaskType::kRanking) {
    schedule::TaskSizes sizes = task_sizes_of(reader);
    for (int64_t g = 0; g < sizes.items(); ++g) p.group_sizes.push_back(sizes.example_of(g + 1) - sizes.example_of(g));
    std::vector<int64_t> chosen, gold;
    rank_groups(p.score, p.gold, p.group_sizes, &chosen, &gold);
    size_t at = 0;
    for (size_t g = 0; g < p.group_sizes.size(); ++g) {
      for (int64_t c = 0; c < p.group_sizes[g]; ++c) p.predicted[at + static_cast<size_t>(c)] = c == chosen[g] ? 1 : 0;
      at += static_cast<size_t>(p.group_sizes[g]);
    }
  }
  return p;
}

std::map<std::string, double> split_metrics(const TaskDef& task, const SplitPredictions& p) {
  if (!p.has_labels) return {};
  EvalOutputs out;
  switch (task.task_type) {
    case TaskType::kClassification:
      out.predictions = p.predicted;
      out.labels = p.gold;
      out.positive_prob = p.score;
      break;
    case TaskType::kRegression:
      out.scores = p.score;
      out.gold_scores = p.gold_score;
      break;
    case TaskType::kRanking:
      rank_groups(p.score, p.gold, p.group_sizes, &out.predictions, &out.labels);
      break;
  }
  return compute_metrics(task, out);
}

std::string submission_tsv(const TaskDef& task, const SplitPredictions& p) {
  std::string out = "index\tprediction\n";
  for (size_t i = 0; i < p.size(); ++i) {
    std::string value = task.task_type == TaskType::kRegression
                            ? fmt::format("{:.3f}", p.score[i])
                            : task.label_text(static_cast<int>(p.predicted[i]));
    out += p.uids[i] + "\t" + value + "\n";
  }
  return out;
}

std::string prediction_file_name(const std::string& task, const std::string& split) {
  return "predictions/" + task + "_" + split + ".tsv";
}

}  // namespace mtdnn::worker
