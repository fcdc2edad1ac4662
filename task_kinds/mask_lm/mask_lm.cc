// task_type MaskLM (data_format MLM): BERT pretraining. The examples are sentence pairs built
// from a text corpus by the preprocessor (preprocess/corpus_job.h), stored unmasked with
// the next-sentence label; masking is dynamic, at batch time (masking.h), keyed by (seed,
// epoch, task, example) so that any rank, world size or resume masks an example the same
// way. Two heads: `mlm` (BERT's masked-LM head, decoder tied to the word embeddings,
// computed at the masked positions only) and `nsp` (next sentence, two classes; absent
// with next_sentence: false); the loss is their sum. Evaluation reports MLM accuracy, MLM
// loss and perplexity over the masked positions and NSP accuracy; no submission files.
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"
#include "task_kinds/mask_lm/masking.h"
#include "task_kinds/metrics.h"
#include "task_kinds/task_kind.h"

namespace mtdnn::task_kinds {
namespace {

constexpr const char* kVocabFile = "vocab.txt";  // copied into the task's data folder by the preprocessor

struct MaskLmResources : TaskResources {
  MaskingVocab vocab;
};

class MaskLm : public TaskKind {
 public:
  MaskLm() : TaskKind({"MaskLM", {DataFormat::kMlm}, "MlmCriterion"}) {}
  void check(const TaskDef& task, const std::string& where) const override {
    MTDNN_INPUT_CHECK(task.n_class == 2, "{}: a MaskLM task has n_class: 2 (the next-sentence classes), got {}", where,
                      task.n_class);
    MTDNN_INPUT_CHECK(task.labels.empty() && task.metric_meta.empty() && !task.enable_san,
                      "{}: a MaskLM task takes no labels, metric_meta or enable_san (it reports MLM-ACC, MLM-loss, "
                      "MLM-PPL and NSP-ACC)", where);
  }
  std::vector<std::string> metric_names(const TaskDef& task) const override {
    std::vector<std::string> names = {"MLM-ACC", "MLM-loss", "MLM-PPL"};
    if (task.pretrain.next_sentence) names.push_back("NSP-ACC");
    return names;
  }

  bool reads_corpus() const override { return true; }
  LabelKind label_kind() const override { return LabelKind::kClass; }  // the next-sentence label
  int label_bound(const TaskDef&) const override { return 2; }

  std::unique_ptr<TaskResources> load_resources(const TaskDef& task, const std::string& task_data_dir) const override {
    const std::string path = task_data_dir + "/" + kVocabFile;
    std::ifstream in(path);
    MTDNN_INPUT_CHECK(in.good(), "{}: cannot open the vocabulary of MaskLM task '{}' (mtdnn-preprocess writes it)",
                      path, task.name);
    std::vector<std::string> tokens;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      tokens.push_back(line);
    }
    auto r = std::make_unique<MaskLmResources>();
    r->vocab = masking_vocab(tokens, path);
    return r;
  }

  // mlm: (B, T) the original id at each masked position, -100 elsewhere (input_ids masked in
  // place); nsp: (B) the next-sentence label.
  std::vector<Targets> targets(const TaskDef& task, const TaskResources* resources, const TargetKey& key,
                               BatchRows& rows) const override {
    const auto* res = dynamic_cast<const MaskLmResources*>(resources);
    MTDNN_CHECK(res != nullptr, "MaskLM task '{}' without its vocabulary", task.name);
    MaskingOptions options;
    options.mask_prob = task.pretrain.mask_prob;
    options.max_predictions = task.pretrain.max_predictions;
    options.whole_word = task.pretrain.whole_word;
    Targets mlm;
    mlm.width = rows.T;
    mlm.ints.assign(static_cast<size_t>(rows.B * rows.T), kNoTarget);
    for (int64_t r = 0; r < rows.B; ++r) {
      const size_t at = static_cast<size_t>(r * rows.T);
      size_t length = 0;
      while (length < static_cast<size_t>(rows.T) && (*rows.attention_mask)[at + length] != 0) ++length;
      const MaskingKey mk{key.seed, static_cast<int64_t>(key.epoch), static_cast<int64_t>(key.task_id),
                          (*rows.example_index)[static_cast<size_t>(r)]};
      MaskedLm masked = mask_tokens(rows.input_ids->data() + at, length, res->vocab, options, mk);
      for (size_t i = 0; i < masked.positions.size(); ++i)
        mlm.ints[at + static_cast<size_t>(masked.positions[i])] = masked.labels[i];
    }
    if (!task.pretrain.next_sentence) return {mlm};
    Targets nsp;
    nsp.ints = rows.label_kind == LabelKind::kClass ? *rows.labels : std::vector<int64_t>(static_cast<size_t>(rows.B), 0);
    return {mlm, nsp};
  }

  std::vector<HeadUse> heads(const TaskDef& task) const override {
    std::vector<HeadUse> h = {{"mlm", "masked_lm", 0, /*loss_per_target=*/true}};
    if (task.pretrain.next_sentence) h.push_back({"nsp", "next_sentence", 2});
    return h;
  }
  bool evaluates_logits() const override { return false; }  // argmax ids: (N, V) logits stay on the device

  void collect(const TaskDef& task, const BatchRows& rows, const std::vector<Targets>& targets,
               const std::vector<HeadOutputs>& outputs, EvalRows* out) const override {
    MTDNN_CHECK(!targets.empty(), "MaskLM task '{}' evaluated without targets", task.name);
    // The masked-LM head predicts the masked positions in row-major order.
    const auto& mlm = targets[0].ints;
    const auto& predicted_ids = outputs.at(0).values;
    size_t n = 0;
    double hits = 0;
    for (int64_t gold : mlm)
      if (gold != kNoTarget) hits += static_cast<int64_t>(predicted_ids.at(n++)) == gold;
    MTDNN_CHECK(n == predicted_ids.size(), "{} masked-LM predictions for {} masked positions", predicted_ids.size(), n);
    out->sums["mlm_hits"] += hits;
    out->sums["mlm_count"] += static_cast<double>(n);
    out->sums["mlm_loss_sum"] += outputs[0].loss_sum;
    for (int64_t r = 0; r < rows.B; ++r) {
      const bool nsp = task.pretrain.next_sentence;
      out->predicted.push_back(nsp ? static_cast<int64_t>(outputs.at(1).values[static_cast<size_t>(r)]) : 0);
      out->gold.push_back(nsp ? targets.at(1).ints[static_cast<size_t>(r)] : 0);
      out->score.push_back(0.0);
      out->gold_score.push_back(0.0);
    }
  }

  std::map<std::string, double> metrics(const TaskDef& task, const EvalRows& rows,
                                        const std::vector<int64_t>&) const override {
    const auto sum = [&](const char* key) {
      auto it = rows.sums.find(key);
      return it == rows.sums.end() ? 0.0 : it->second;
    };
    const double count = sum("mlm_count");
    const double loss = count > 0 ? sum("mlm_loss_sum") / count : std::nan("");
    std::map<std::string, double> m = {
        {"MLM-ACC", count > 0 ? 100.0 * sum("mlm_hits") / count : std::nan("")},
        {"MLM-loss", loss},
        {"MLM-PPL", std::exp(loss)}};
    if (task.pretrain.next_sentence) m["NSP-ACC"] = accuracy(rows.predicted, rows.gold);
    return m;
  }
  bool writes_submission() const override { return false; }
};

}  // namespace

std::unique_ptr<TaskKind> make_mask_lm_kind() { return std::make_unique<MaskLm>(); }

}  // namespace mtdnn::task_kinds
