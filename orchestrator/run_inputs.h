// What a training run reads before it builds anything: the task definitions, the train
// readers (checked: labelled, non-empty, one tokenizer, the task definitions they were made
// with), the evaluation splits, the encoder's configuration, and the schedule plan of every
// epoch (built once from --seed; the step count is the plan's, and the step loop runs the
// same plan). Made once by the trainer and handed down as a value; no collectives.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "orchestrator/train_options.h"
#include "schedule/schedule.h"
#include "sharding/split_reader.h"
#include "task_kinds/task_def.h"
#include "worker/bert_config.h"

namespace mtdnn::orchestrator {

// A split evaluated during and after training.
struct EvalSplit {
  size_t task = 0;
  std::string split;
  std::unique_ptr<sharding::SplitReader> reader;
  bool labelled = false;  // dev-like: metrics; test: predictions only
};

// Every epoch's schedule, built once: what the step loop runs and what the counts come from.
struct SchedulePlan {
  schedule::ScheduleOptions options;       // --seed, --batch-size, --mix-opt, --ratio, --temperature
  std::vector<schedule::TaskSizes> sizes;  // per task
  std::vector<schedule::EpochSchedule> epochs;  // [epoch]
  int64_t total = 0;   // steps this run takes: the plan's, or --max-steps when fewer
  int64_t warmup = 0;  // --warmup x total

  // Global batches of each task in `epoch`.
  std::vector<int64_t> batches_per_task(size_t epoch) const;
};

struct RunInputs {
  std::vector<TaskDef> tasks;
  std::vector<std::unique_ptr<sharding::SplitReader>> train;  // per task
  std::vector<EvalSplit> evals;
  std::vector<std::string> not_preprocessed;  // "task/split" listed in split_names without shards
  sharding::TokenizerIdentity tokenizer;
  worker::BertConfig bert;
  std::string bert_config_path;
  SchedulePlan plan;

  std::string task_names() const;  // "rte,mnli"
  std::vector<const sharding::SplitReader*> train_readers() const;
};

// Opens and checks everything above. InputError naming the option, task or file on bad input.
RunInputs open_run_inputs(const TrainOptions& o);

// The plan of `o.epochs` epochs over tasks of `sizes` (exposed for tests).
SchedulePlan plan_schedule(const TrainOptions& o, std::vector<schedule::TaskSizes> sizes);

}  // namespace mtdnn::orchestrator
