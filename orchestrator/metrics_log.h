// metrics.jsonl: one JSON record per line ("train" records every --log-every steps, "eval"
// records after each evaluation), written by rank 0 and flushed per record. On resume the
// records after the checkpoint's step are dropped (those steps run again), the rest kept.
// The same records as TensorBoard scalars, in tensorboard/ beside the file (tensorboard_scalars
// names them). A resumed run writes a new event file from the kept records and then deletes
// the old files, so TensorBoard shows one continuous run equal to metrics.jsonl.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/tfevents_writer.h"

namespace mtdnn::orchestrator {

// The TensorBoard scalars of a record, step as the x axis: a "train" record's
// train/{loss,loss_avg,lr,grad_norm,loss_scale (fp16),steps_per_s,tokens_per_s,eta_s}, an "eval" record's
// metrics as <task>/<split>/<METRIC> (e.g. rte/dev/ACC); null values are left out.
std::vector<std::pair<std::string, float>> tensorboard_scalars(const nlohmann::ordered_json& record);

// Whether `key` of an "eval" record is a metric (ACC, F1, ...) rather than one of the
// record's own fields (type, task, split, step, epoch, examples, seconds).
bool is_eval_metric_key(const std::string& key);

class MetricsLog {
 public:
  // `writer`: rank 0 (the other ranks' log writes nothing). `resumed_step` < 0: a fresh run
  // (the file is truncated, earlier event files removed). InputError when the file cannot be
  // written.
  MetricsLog(const std::string& path, bool writer, int64_t resumed_step);
  void write(const nlohmann::ordered_json& record);

 private:
  void add_to_tensorboard(const nlohmann::ordered_json& record);
  bool writer_;
  std::ofstream out_;
  std::unique_ptr<TfEventsWriter> tensorboard_;
};

// A metric as a JSON number; NaN and Inf (degenerate inputs) as null.
nlohmann::ordered_json metric_json(double value);

}  // namespace mtdnn::orchestrator
