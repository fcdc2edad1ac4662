// mtdnn-predict: offline prediction with a model folder written by mtdnn-train (<out>/model):
// one task split of preprocessed shards in, GLUE's submission TSV out (the same file
// mtdnn-train writes into predictions/), with --scores each example's class probabilities
// or score beside it, and the metrics on stdout when the split has labels. Several --model
// folders make an ensemble: their scores are averaged per example and the predictions
// decided from the average. A --model may also be Hugging Face's BertForSequenceClassification
// folder (worker/hf_sequence_classifier.h): its head answers the task the shards define.
// One process; no MPI launcher needed.
#include <boost/program_options.hpp>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/ranges.h>

#include "common/command_line.h"
#include "common/error.h"
#include "common/log.h"
#include "common/program_main.h"
#include "worker/evaluator.h"
#include "worker/hf_sequence_classifier.h"
#include "worker/model_folder.h"
#include "sharding/split_reader.h"
#include "worker/mtdnn_model.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

using namespace mtdnn;
using namespace mtdnn::worker;

void write_output(const std::string& path, const std::string& text) {
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
  std::ofstream file(path, std::ios::trunc);
  file << text;
  file.close();
  MTDNN_INPUT_CHECK(file.good(), "{}: cannot write the file", path);
}

int run(int argc, char** argv) {
  std::vector<std::string> model_dirs;
  std::string data_dir, task_name, split, out, config;
  bool scores = false;
  int64_t batch_size = 64;
  int threads = 0;
  po::options_description desc(
      "mtdnn-predict: predictions of a model trained by mtdnn-train on one task split\n\n"
      "Usage: mtdnn-predict --model DIR [--model DIR ...] --data DIR --task T --split S --out FILE [options]\n\n"
      "Options (every flag is also a key of the --config INI file; the command line wins)");
  desc.add_options()
      ("help,h", "print this help and exit")
      ("config", po::value(&config), "INI file with any of these options as keys")
      ("model", po::value(&model_dirs)->required(),
       "model folder written by mtdnn-train (<out>/model), or a Hugging Face BertForSequenceClassification "
       "folder; given several times: an ensemble, the models' scores averaged per example")
      ("data", po::value(&data_dir)->required(), "preprocessed shards (mtdnn-preprocess --out)")
      ("task", po::value(&task_name)->required(), "task to predict (one the model was trained on)")
      ("split", po::value(&split)->required(), "split to predict (dev, test, matched_dev, ...)")
      ("out", po::value(&out)->required(), "output TSV (GLUE submission format: index, prediction)")
      ("scores", po::bool_switch(&scores),
       "also write each example's scores beside --out (x.tsv -> x.scores.tsv): index, then each class's "
       "probability (regression: the score; ranking: the candidate's probability within its group)")
      ("batch-size", po::value(&batch_size)->default_value(batch_size), "examples per batch")
      ("threads", po::value(&threads)->default_value(threads), "intra-op threads (0: every core)");
  po::variables_map vm;
  if (!parse_command_line_and_config(argc, argv, desc, vm)) {
    std::cout << desc << "\n";
    return 0;
  }
  MTDNN_INPUT_CHECK(batch_size >= 1, "--batch-size must be >= 1, got {}", batch_size);
  MTDNN_INPUT_CHECK(threads >= 0, "--threads must be >= 0, got {}", threads);
  torch::set_num_threads(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));

  // Each model in turn (one in memory at a time); the first one's task definition decides.
  std::optional<TaskDef> task;
  std::vector<SplitPredictions> predictions;
  for (const std::string& model_dir : model_dirs) {
    sharding::SplitReader reader(data_dir, task_name, split);
    LoadedModel loaded = is_sequence_classifier_folder(model_dir)
                             ? load_sequence_classifier(model_dir, reader.manifest().task_def,
                                                        reader.manifest().tokenizer.max_seq_len)
                             : load_model_folder(model_dir);
    const TaskDef* mine = nullptr;
    for (const auto& t : loaded.tasks)
      if (t.name == task_name) mine = &t;
    MTDNN_INPUT_CHECK(mine != nullptr, "--task {}: the model in {} has no head for it", task_name, model_dir);
    if (!task) task = *mine;
    const auto& kind = task_kinds::kind_of(*task);
    MTDNN_INPUT_CHECK(mine->task_type == task->task_type && kind.score_columns(*mine) == kind.score_columns(*task),
                      "--model {}: task {} is a {} with scores [{}] there, but a {} with scores [{}] in {}", model_dir,
                      task_name, mine->task_type, fmt::join(kind.score_columns(*mine), ", "), task->task_type,
                      fmt::join(kind.score_columns(*task), ", "), model_dirs.front());
    reader.expect(*mine, loaded.tokenizer);
    predictions.push_back(predict_split(*loaded.model, *mine, reader, batch_size));
    if (model_dirs.size() > 1)
      for (const auto& [name, value] : split_metrics(*mine, predictions.back()))
        log_info("{}: {}/{} {} {:.2f}", model_dir, task_name, split, name, value);
  }
  const task_kinds::TaskKind& kind = task_kinds::kind_of(*task);
  MTDNN_INPUT_CHECK(model_dirs.size() == 1 || !kind.score_columns(*task).empty(),
                    "--model given {} times: task {} ({}) has no scores to average", model_dirs.size(), task_name,
                    task->task_type);
  MTDNN_INPUT_CHECK(!scores || !kind.score_columns(*task).empty(), "--scores: task {} ({}) has no per-example scores",
                    task_name, task->task_type);
  const SplitPredictions p = predictions.size() == 1 ? predictions.front() : average_predictions(*task, predictions);
  predictions.clear();
  if (kind.writes_submission()) write_output(out, submission_tsv(*task, p));  // MaskLM: metrics only
  if (scores) write_output(scores_file_name(out), scores_tsv(*task, p));
  nlohmann::ordered_json j;
  j["task"] = task_name;
  j["split"] = split;
  j["examples"] = p.size();
  if (model_dirs.size() > 1) j["models"] = model_dirs.size();
  for (const auto& [name, value] : split_metrics(*task, p)) j[name] = value;
  std::cout << j.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return mtdnn::program_main<po::error>("mtdnn-predict", [&] { return run(argc, argv); });
}
