// Opening and checking a run's inputs, and planning its schedule (see run_inputs.h).
#include "orchestrator/run_inputs.h"

#include <cmath>
#include <filesystem>

#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include "common/error.h"
#include "worker/batch_loader.h"

namespace fs = std::filesystem;

namespace mtdnn::orchestrator {

namespace {

void open_train_splits(const TrainOptions& o, RunInputs* in) {
  in->tasks = select_tasks(load_task_defs(o.task_def), o.tasks, o.task_def);
  MTDNN_INPUT_CHECK(!in->tasks.empty(), "--task-def {}: no tasks to train", o.task_def);
  for (const auto& t : in->tasks) {
    in->train.push_back(std::make_unique<sharding::SplitReader>(o.data_dir, t.name, "train"));
    MTDNN_INPUT_CHECK(in->train.back()->label_kind() != sharding::LabelKind::kNone,
                      "task '{}': the train split in {} has no labels", t.name, o.data_dir);
    MTDNN_INPUT_CHECK(in->train.back()->size() > 0, "task '{}': the train split in {} is empty", t.name, o.data_dir);
  }
  // Every task's shards must come from one tokenizer and match the given task definitions.
  in->tokenizer = in->train[0]->manifest().tokenizer;
  for (size_t i = 0; i < in->tasks.size(); ++i) in->train[i]->expect(in->tasks[i], in->tokenizer);
  MTDNN_INPUT_CHECK(in->tokenizer.max_seq_len <= o.max_seq_len,
                    "--max-seq-len {}: the shards were preprocessed with --max-seq-len {}; re-run mtdnn-preprocess "
                    "with --max-seq-len {} or raise --max-seq-len", o.max_seq_len, in->tokenizer.max_seq_len,
                    o.max_seq_len);
}

void read_encoder_config(const TrainOptions& o, RunInputs* in) {
  in->bert_config_path =
      o.bert_config.empty() ? (fs::path(o.init_checkpoint) / "config.json").string() : o.bert_config;
  in->bert = worker::read_bert_config(in->bert_config_path);
  in->bert.validate(in->bert_config_path);
  MTDNN_INPUT_CHECK(o.max_seq_len <= in->bert.max_position_embeddings,
                    "--max-seq-len {} exceeds max_position_embeddings {} of {}", o.max_seq_len,
                    in->bert.max_position_embeddings, in->bert_config_path);
  MTDNN_INPUT_CHECK(in->tokenizer.vocab_size <= in->bert.vocab_size,
                    "the shards' vocabulary has {} tokens but vocab_size is {} in {}", in->tokenizer.vocab_size,
                    in->bert.vocab_size, in->bert_config_path);
}

void open_eval_splits(const TrainOptions& o, RunInputs* in) {
  for (size_t i = 0; i < in->tasks.size(); ++i) {
    for (const auto& split : in->tasks[i].split_names) {
      if (split == "train") continue;
      if (!in->train[i]->manifest().find_split(split)) {
        in->not_preprocessed.push_back(in->tasks[i].name + "/" + split);
        continue;
      }
      EvalSplit e;
      e.task = i;
      e.split = split;
      e.reader = std::make_unique<sharding::SplitReader>(o.data_dir, in->tasks[i].name, split);
      e.reader->expect(in->tasks[i], in->tokenizer);
      e.labelled = e.reader->label_kind() != sharding::LabelKind::kNone;
      in->evals.push_back(std::move(e));
    }
  }
}

}  // namespace

std::vector<int64_t> SchedulePlan::batches_per_task(size_t epoch) const {
  std::vector<int64_t> per_task(sizes.size(), 0);
  for (const auto& entry : epochs.at(epoch).entries) ++per_task[static_cast<size_t>(entry.task)];
  return per_task;
}

SchedulePlan plan_schedule(const TrainOptions& o, std::vector<schedule::TaskSizes> sizes) {
  SchedulePlan plan;
  plan.options.seed = o.seed;
  plan.options.batch_size = o.batch_size;
  plan.options.mix_opt = o.mix_opt;
  plan.options.ratio = o.ratio;
  plan.options.temperature = o.temperature;
  plan.sizes = std::move(sizes);
  int64_t planned = 0;
  for (int64_t e = 0; e < o.epochs; ++e) {
    plan.epochs.push_back(schedule::build_epoch_schedule(plan.options, plan.sizes, e));
    planned += static_cast<int64_t>(plan.epochs.back().size());
  }
  plan.total = o.max_steps > 0 ? std::min(planned, o.max_steps) : planned;
  MTDNN_INPUT_CHECK(plan.total > 0, "the schedule has no steps (empty tasks?)");
  plan.warmup = std::llround(o.warmup * static_cast<double>(plan.total));
  return plan;
}

RunInputs open_run_inputs(const TrainOptions& o) {
  RunInputs in;
  open_train_splits(o, &in);
  read_encoder_config(o, &in);
  open_eval_splits(o, &in);
  std::vector<schedule::TaskSizes> sizes;
  for (const auto& r : in.train) sizes.push_back(worker::task_sizes_of(*r));
  in.plan = plan_schedule(o, std::move(sizes));
  return in;
}

std::string RunInputs::task_names() const {
  std::vector<std::string> names;
  for (const auto& t : tasks) names.push_back(t.name);
  return fmt::format("{}", fmt::join(names, ","));
}

std::vector<const sharding::SplitReader*> RunInputs::train_readers() const {
  std::vector<const sharding::SplitReader*> readers;
  for (const auto& r : train) readers.push_back(r.get());
  return readers;
}

}  // namespace mtdnn::orchestrator
