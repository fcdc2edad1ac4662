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
#include "worker/mtdnn_model.h"

namespace mtdnn::worker {

namespace {

struct EvalBatch {
  std::vector<int64_t> examples;
  std::vector<int64_t> group_sizes;  // ranking
};

std::vector<EvalBatch> make_eval_batches(const sharding::SplitReader& reader, bool grouped, int64_t batch_size) {
  MTDNN_CHECK(batch_size >= 1, "evaluation batch size {}", batch_size);
  std::vector<EvalBatch> out;
  if (grouped) {
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
  std::vector<int64_t> index;
  std::vector<std::string> uids;
  task_kinds::EvalRows rows;
};

// One head's output on the host, once per batch: its logits (or argmax ids when the kind
// asks for predictions) and its summed loss.
task_kinds::HeadOutputs host_outputs(TaskHeadImpl& head, const HeadOutput& out,
                                     const torch::Tensor& labels, bool logits) {
  task_kinds::HeadOutputs h;
  // The argmax prediction needs no head input.
  torch::Tensor values = logits ? out.logits : head.predict(out, HeadInput());
  values = values.to(torch::kCPU, torch::kFloat).contiguous();
  h.width = values.dim() >= 2 ? values.size(values.dim() - 1) : 1;
  h.values.assign(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
  if (out.loss.defined() && labels.defined()) {
    const int64_t count = labels.is_floating_point() ? labels.numel() : (labels != -100).sum().item<int64_t>();
    h.loss_sum = out.loss.item<double>() * static_cast<double>(count);
    h.loss_count = count;
  }
  return h;
}

void predict_batch(MtdnnModelImpl& model, const TaskDef& task, const task_kinds::TaskKind& kind,
                   const task_kinds::TaskResources* resources, const sharding::SplitReader& reader,
                   const EvalBatch& eb, const ExecutionOptions& exec, LocalRows* out) {
  std::vector<sharding::Example> examples;
  examples.reserve(eb.examples.size());
  for (int64_t i : eb.examples) examples.push_back(reader.get(i));
  LocalBatch b = make_local_batch(examples, reader.label_kind(), 0);
  b.group_sizes = eb.group_sizes;
  b.example_index = eb.examples;
  task_kinds::BatchRows rows = batch_rows(b);
  // Evaluation targets use a fixed key, so every run masks a held-out split the same way.
  if (b.label_kind != LabelKind::kNone) b.targets = kind.targets(task, resources, task_kinds::TargetKey{}, rows);
  RowRange all{0, b.B, 0, static_cast<int64_t>(b.group_sizes.size())};
  ModelInput in = to_device(model_input(b, all, kind, !b.targets.empty()), exec);
  std::vector<HeadOutput> outs = model.forward_heads(task.name, in);
  std::vector<task_kinds::HeadOutputs> host;
  const auto& heads = model.heads_of(task.name);
  for (size_t h = 0; h < outs.size(); ++h)
    host.push_back(host_outputs(*heads[h], outs[h], in.labels.empty() ? torch::Tensor() : in.labels[h],
                                kind.evaluates_logits()));
  kind.collect(task, rows, b.targets, host, &out->rows);
  out->index.insert(out->index.end(), eb.examples.begin(), eb.examples.end());
  out->uids.insert(out->uids.end(), b.uids.begin(), b.uids.end());
}

}  // namespace

SplitPredictions predict_split(MtdnnModelImpl& model, const TaskDef& task,
                               const sharding::SplitReader& reader, int64_t batch_size, const EvalShare& share,
                               const ExecutionOptions& exec) {
  const task_kinds::TaskKind& kind = task_kinds::kind_of(task);
  const auto resources = kind.load_resources(task, reader.task_dir());
  const auto batches = make_eval_batches(reader, kind.grouped(), batch_size);
  LocalRows local;
  {
    const bool was_training = model.is_training();
    model.eval();
    torch::NoGradGuard no_grad;
    for (size_t c = static_cast<size_t>(share.rank); c < batches.size(); c += static_cast<size_t>(share.size))
      predict_batch(model, task, kind, resources.get(), reader, batches[c], exec, &local);
    model.train(was_training);
  }
  const task_kinds::EvalRows& r = local.rows;
  nlohmann::json mine = {{"index", local.index}, {"predicted", r.predicted},   {"score", r.score},
                         {"gold", r.gold},       {"gold_score", r.gold_score}, {"uids", local.uids},
                         {"sums", r.sums},       {"probs", r.probs}};
  std::vector<uint8_t> packed = nlohmann::json::to_msgpack(mine);
  std::vector<std::string> all = share.gather(std::string(packed.begin(), packed.end()));

  SplitPredictions p;
  p.task = task.name;
  p.split = reader.split().split;
  p.has_labels = reader.label_kind() != sharding::LabelKind::kNone;
  if (share.rank != 0) return p;
  const size_t n = static_cast<size_t>(reader.size());
  p.uids.resize(n);
  p.predicted.assign(n, 0);
  p.score.assign(n, 0.0);
  p.gold.assign(n, -1);
  p.gold_score.assign(n, 0.0);
  p.prob_width = static_cast<int64_t>(kind.score_columns(task).size());
  const size_t width = static_cast<size_t>(p.prob_width);
  p.probs.assign(n * width, 0.0);
  std::vector<bool> seen(n, false);
  for (const std::string& bytes : all) {
    nlohmann::json j = nlohmann::json::from_msgpack(bytes);
    auto index = j["index"].get<std::vector<int64_t>>();
    auto predicted = j["predicted"].get<std::vector<int64_t>>();
    auto score = j["score"].get<std::vector<double>>();
    auto gold = j["gold"].get<std::vector<int64_t>>();
    auto gold_score = j["gold_score"].get<std::vector<double>>();
    auto uids = j["uids"].get<std::vector<std::string>>();
    auto probs = j["probs"].get<std::vector<double>>();
    MTDNN_CHECK(probs.size() == index.size() * width, "evaluation of {}/{}: {} scores for {} examples of {}",
                task.name, p.split, probs.size(), index.size(), width);
    for (const auto& [key, value] : j["sums"].items()) p.sums[key] += value.get<double>();
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
      std::copy_n(probs.begin() + static_cast<std::ptrdiff_t>(k * width), width,
                  p.probs.begin() + static_cast<std::ptrdiff_t>(i * width));
    }
  }
  MTDNN_CHECK(std::all_of(seen.begin(), seen.end(), [](bool s) { return s; }), "evaluation of {}/{}: examples missing",
              task.name, p.split);
  if (kind.grouped()) {
    schedule::TaskSizes sizes = task_sizes_of(reader);
    for (int64_t g = 0; g < sizes.items(); ++g) p.group_sizes.push_back(sizes.example_of(g + 1) - sizes.example_of(g));
  }
  task_kinds::EvalRows rows = eval_rows(p);
  kind.finish(p.group_sizes, &rows);
  p.predicted = rows.predicted;
  return p;
}

task_kinds::EvalRows eval_rows(const SplitPredictions& p) {
  return {p.predicted, p.score, p.gold, p.gold_score, p.sums, p.probs, p.prob_width};
}

std::map<std::string, double> split_metrics(const TaskDef& task, const SplitPredictions& p) {
  if (!p.has_labels) return {};
  return task_kinds::kind_of(task).metrics(task, eval_rows(p), p.group_sizes);
}

std::string submission_tsv(const TaskDef& task, const SplitPredictions& p) {
  const task_kinds::TaskKind& kind = task_kinds::kind_of(task);
  const task_kinds::EvalRows rows = eval_rows(p);
  std::string out = "index\tprediction\n";
  for (size_t i = 0; i < p.size(); ++i) out += p.uids[i] + "\t" + kind.submission_value(task, rows, i) + "\n";
  return out;
}

std::string prediction_file_name(const std::string& task, const std::string& split) {
  return "predictions/" + task + "_" + split + ".tsv";
}

std::string scores_tsv(const TaskDef& task, const SplitPredictions& p) {
  const std::vector<std::string> columns = task_kinds::kind_of(task).score_columns(task);
  const size_t width = columns.size();
  MTDNN_CHECK(width > 0 && static_cast<size_t>(p.prob_width) == width && p.probs.size() == p.size() * width,
              "{}/{}: {} scores of width {} for {} examples and {} columns", p.task, p.split, p.probs.size(),
              p.prob_width, p.size(), width);
  std::string out = "index";
  for (const auto& c : columns) out += "\t" + c;
  out += "\n";
  for (size_t i = 0; i < p.size(); ++i) {
    out += p.uids[i];
    for (size_t c = 0; c < width; ++c) out += fmt::format("\t{:.6f}", p.probs[i * width + c]);
    out += "\n";
  }
  return out;
}

std::string scores_file_name(const std::string& submission_file) {
  const std::string ext = ".tsv";
  const size_t n = submission_file.size();
  if (n > ext.size() && submission_file.compare(n - ext.size(), ext.size(), ext) == 0)
    return submission_file.substr(0, submission_file.size() - ext.size()) + ".scores.tsv";
  return submission_file + ".scores.tsv";
}

SplitPredictions average_predictions(const TaskDef& task, const std::vector<SplitPredictions>& models) {
  MTDNN_CHECK(!models.empty(), "an ensemble of no models");
  SplitPredictions avg = models.front();
  const size_t width = static_cast<size_t>(avg.prob_width);
  MTDNN_INPUT_CHECK(width > 0, "task '{}' has no per-example scores to average", task.name);
  for (size_t m = 1; m < models.size(); ++m) {
    const SplitPredictions& p = models[m];
    MTDNN_INPUT_CHECK(p.task == avg.task && p.split == avg.split && p.uids == avg.uids,
                      "model {} predicted {}/{} ({} examples), model 1 {}/{} ({} examples): not the same examples",
                      m + 1, p.task, p.split, p.size(), avg.task, avg.split, avg.size());
    MTDNN_INPUT_CHECK(static_cast<size_t>(p.prob_width) == width && p.probs.size() == avg.probs.size(),
                      "model {} gives {} scores per example of {}/{}, model 1 gives {}", m + 1, p.prob_width,
                      p.task, p.split, width);
    for (size_t i = 0; i < avg.probs.size(); ++i) avg.probs[i] += p.probs[i];
  }
  for (double& v : avg.probs) v /= static_cast<double>(models.size());
  task_kinds::EvalRows rows = eval_rows(avg);
  task_kinds::kind_of(task).decide(task, avg.group_sizes, &rows);
  avg.predicted = std::move(rows.predicted);
  avg.score = std::move(rows.score);
  return avg;
}

}  // namespace mtdnn::worker
