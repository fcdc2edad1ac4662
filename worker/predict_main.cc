// mtdnn-predict: offline prediction with a model folder written by mtdnn-train (<out>/model):
// one task split of preprocessed shards in, GLUE's submission TSV out (the same file
// mtdnn-train writes into predictions/), and the metrics on stdout when the split has labels.
// One process; no MPI launcher needed.
#include <boost/program_options.hpp>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/command_line.h"
#include "common/error.h"
#include "common/log.h"
#include "common/program_main.h"
#include "worker/evaluator.h"
#include "worker/model_folder.h"
#include "comm/round_protocol.h"
#include "sharding/split_reader.h"
#include "worker/mtdnn_model.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

using namespace mtdnn;
using namespace mtdnn::worker;

int run(int argc, char** argv) {
  std::string model_dir, data_dir, task_name, split, out, config;
  int64_t batch_size = 64;
  int threads = 0;
  po::options_description desc(
      "mtdnn-predict: predictions of a model trained by mtdnn-train on one task split\n\n"
      "Usage: mtdnn-predict --model DIR --data DIR --task T --split S --out FILE [options]\n\n"
      "Options (every flag is also a key of the --config INI file; the command line wins)");
  desc.add_options()
      ("help,h", "print this help and exit")
      ("config", po::value(&config), "INI file with any of these options as keys")
      ("model", po::value(&model_dir)->required(), "model folder written by mtdnn-train (<out>/model)")
      ("data", po::value(&data_dir)->required(), "preprocessed shards (mtdnn-preprocess --out)")
      ("task", po::value(&task_name)->required(), "task to predict (one the model was trained on)")
      ("split", po::value(&split)->required(), "split to predict (dev, test, matched_dev, ...)")
      ("out", po::value(&out)->required(), "output TSV (GLUE submission format: index, prediction)")
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

  LoadedModel loaded = load_model_folder(model_dir);
  const TaskDef* task = nullptr;
  for (const auto& t : loaded.tasks)
    if (t.name == task_name) task = &t;
  MTDNN_INPUT_CHECK(task != nullptr, "--task {}: the model in {} has no head for it", task_name, model_dir);
  sharding::SplitReader reader(data_dir, task_name, split);
  reader.expect(*task, loaded.tokenizer);

  auto plane = comm::make_local_control_plane();
  SplitPredictions p = predict_split(*loaded.model, *task, reader, batch_size, *plane);
  if (task_kinds::kind_of(*task).writes_submission()) {  // MaskLM: metrics only
    if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path());
    std::ofstream file(out, std::ios::trunc);
    file << submission_tsv(*task, p);
    file.close();
    MTDNN_INPUT_CHECK(file.good(), "--out {}: cannot write the file", out);
  }
  nlohmann::ordered_json j;
  j["task"] = task_name;
  j["split"] = split;
  j["examples"] = p.size();
  for (const auto& [name, value] : split_metrics(*task, p)) j[name] = value;
  std::cout << j.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return mtdnn::program_main<po::error>("mtdnn-predict", [&] { return run(argc, argv); });
}
