// A training run's evaluations (see run_evaluation.h).
#include "orchestrator/run_evaluation.h"

#include <filesystem>

#include "common/clock.h"
#include "common/file_util.h"
#include "worker/evaluator.h"

namespace fs = std::filesystem;

namespace mtdnn::orchestrator {

namespace {

// GLUE's submission file of the split, and each example's scores beside it: the latest in
// predictions/, and each evaluation's kept under predictions/step-<step>/ (mt-dnn keeps one
// score file per epoch; a step names an evaluation whatever --eval-every is).
void write_predictions(const std::string& out_dir, const TaskDef& task, const std::string& split, int64_t step,
                       const worker::SplitPredictions& p) {
  const fs::path latest = fs::path(out_dir) / worker::prediction_file_name(task.name, split);
  const fs::path kept = latest.parent_path() / fmt::format("step-{}", step) / latest.filename();
  fs::create_directories(kept.parent_path());
  for (const fs::path& path : {latest, kept}) {
    if (task_kinds::kind_of(task).writes_submission()) write_file_atomic(path.string(), worker::submission_tsv(task, p));
    if (p.prob_width > 0) write_file_atomic(worker::scores_file_name(path.string()), worker::scores_tsv(task, p));
  }
}

}  // namespace

std::vector<EvalRecord> evaluate_run(worker::MtdnnModelImpl& model, const RunInputs& in, const TrainOptions& o,
                                     comm::RoundProtocol& protocol, const worker::ExecutionOptions& exec,
                                     RunReport& report, int64_t step, int64_t epoch, bool with_test) {
  worker::EvalShare share;
  share.rank = protocol.rank();
  share.size = protocol.size();
  share.gather = [&protocol](const std::string& mine) { return protocol.gather_predictions(mine); };  // R6
  std::vector<EvalRecord> records;
  for (const EvalSplit& e : in.evals) {
    if (!e.labelled && !with_test) continue;
    const TaskDef& task = in.tasks[e.task];
    const auto start = Clock::now();
    worker::SplitPredictions p = worker::predict_split(model, task, *e.reader, o.eval_batch_size, share, exec);
    if (protocol.rank() != 0) continue;
    write_predictions(o.out_dir, task, e.split, step, p);
    if (!e.labelled) continue;
    EvalRecord rec{task.name, e.split, step, worker::split_metrics(task, p)};
    report.eval(rec, epoch, p.size(), seconds_since(start));
    records.push_back(std::move(rec));
  }
  return records;
}

}  // namespace mtdnn::orchestrator
