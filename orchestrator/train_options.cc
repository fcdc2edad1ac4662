// mtdnn-train's options: Boost.Program_options description, validation, JSON dump
// (see train_options.h).
#include "orchestrator/train_options.h"

#include <boost/program_options.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/error.h"

namespace po = boost::program_options;

namespace mtdnn::orchestrator {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

ParsedCommandLine parse_train_command_line(int argc, const char* const* argv) {
  ParsedCommandLine parsed;
  TrainOptions& o = parsed.options;
  std::string config, tasks;
  double dropout = -1;
  po::options_description desc(
      "mtdnn-train: multi-task training of MT-DNN (a shared BERT encoder, one head per task)\n\n"
      "Usage: mpirun -np N mtdnn-train --data DIR --task-def FILE (--bert-config FILE | --init-checkpoint DIR)\n"
      "                                --out DIR [options]\n\n"
      "Options (every flag is also a key of the --config INI file; the command line wins)",
      /*line_length=*/110, /*min_description_length=*/60);
  // Real-valued defaults shown as written (5e-05, not 5.0000000000000002e-05).
  auto real_option = [](double* value) {
    return po::value(value)->default_value(*value, fmt::format("{}", *value));
  };
  // clang-format off
  desc.add_options()
      ("help,h", "print this help and exit")
      ("config", po::value(&config), "INI file with any of these options as keys")
      ("data", po::value(&o.data_dir), "preprocessed shards (mtdnn-preprocess --out)")
      ("task-def", po::value(&o.task_def), "task definitions (mt-dnn's task_def.yml schema)")
      ("tasks", po::value(&tasks), "comma-separated tasks to train (default: all of --task-def); the first is "
       "mt-dnn's main task for --mix-opt and --ratio")
      ("bert-config", po::value(&o.bert_config), "config.json of a freshly initialised encoder")
      ("init-checkpoint", po::value(&o.init_checkpoint),
       "folder with a Hugging Face BERT (model.safetensors + config.json) to start the encoder from")
      ("init-heads", po::bool_switch(&o.init_heads),
       "with --init-checkpoint from an mtdnn-train model folder: also take the heads of the tasks it has "
       "(fine-tuning with them); the others start fresh")
      ("max-seq-len", po::value(&o.max_seq_len)->default_value(o.max_seq_len),
       "longest example in tokens; shards preprocessed with a larger --max-seq-len are refused")
      ("batch-size", po::value(&o.batch_size)->default_value(o.batch_size),
       "global batch: examples (ranking: groups) per step over all ranks")
      ("epochs", po::value(&o.epochs)->default_value(o.epochs), "passes over the training data")
      ("max-steps", po::value(&o.max_steps)->default_value(o.max_steps), "stop after this many steps (0: no limit)")
      ("mix-opt", po::value(&o.mix_opt)->default_value(o.mix_opt),
       "0: all tasks' batches shuffled together; > 0: auxiliary tasks first, the main task last")
      ("ratio", real_option(&o.ratio),
       "> 0: all main-task batches plus ratio x as many auxiliary batches")
      ("temperature", real_option(&o.temperature),
       "> 0: sample each step's task with probability ~ size^(1/T) (replaces --mix-opt/--ratio)")
      ("bucket-window", po::value(&o.bucket_window)->default_value(o.bucket_window),
       "> 0: length bucketing over windows of this many batches (less padding)")
      ("seed", po::value(&o.seed)->default_value(o.seed), "seed of the weights and the data order")
      ("optimizer", po::value(&o.optimizer)->default_value(o.optimizer), "adamw or adamax (mt-dnn's)")
      ("lr", real_option(&o.lr), "peak learning rate")
      ("warmup", real_option(&o.warmup), "linear warm-up, as a fraction of the total steps")
      ("lr-schedule", po::value(&o.lr_schedule)->default_value(o.lr_schedule),
       "linear: decay to 0 after the warm-up; constant: stay at --lr")
      ("weight-decay", real_option(&o.weight_decay),
       "decoupled weight decay (none on bias and LayerNorm)")
      ("beta1", real_option(&o.beta1), "first-moment decay")
      ("beta2", real_option(&o.beta2), "second-moment (AdamW) / infinity-norm (Adamax) decay")
      ("eps", real_option(&o.eps), "optimizer epsilon")
      ("grad-clip", real_option(&o.grad_clip), "global gradient-norm clip (0: off)")
      ("grad-accum", po::value(&o.grad_accum)->default_value(o.grad_accum),
       "micro-batches per step (the global batch split; same result up to float rounding)")
      ("dropout", po::value(&dropout), "override every dropout probability (encoder, heads, SAN steps)")
      ("max-bad-steps", po::value(&o.max_bad_steps)->default_value(o.max_bad_steps),
       "abort after this many consecutive steps with NaN/Inf gradients (each is skipped)")
      ("backend", po::value(&o.backend)->default_value(o.backend), "gradient all-reduce: mpi, gloo or nccl")
      ("threads", po::value(&o.threads)->default_value(o.threads),
       "intra-op threads per rank (0: cores / ranks on this node)")
      ("prefetch", po::value(&o.prefetch)->default_value(o.prefetch), "batches loaded ahead of compute")
      ("out", po::value(&o.out_dir), "output folder: config.json, metrics.jsonl, predictions/, model/")
      ("log-every", po::value(&o.log_every)->default_value(o.log_every), "steps between training records")
      ("eval-every", po::value(&o.eval_every)->default_value(o.eval_every),
       "steps between dev evaluations (0: only at the end)")
      ("eval-batch-size", po::value(&o.eval_batch_size)->default_value(o.eval_batch_size),
       "examples per evaluation batch")
      ("checkpoint-every", po::value(&o.checkpoint_every)->default_value(o.checkpoint_every),
       "steps between checkpoints in <out>/checkpoints (0: only at the end and on a stop request)")
      ("checkpoint-minutes", real_option(&o.checkpoint_minutes),
       "also checkpoint every this many minutes of wall clock (0: off)")
      ("keep-checkpoints", po::value(&o.keep_checkpoints)->default_value(o.keep_checkpoints),
       "checkpoints kept (the newest; 0: all)")
      ("keep-checkpoint-every", po::value(&o.keep_checkpoint_every)->default_value(o.keep_checkpoint_every),
       "also keep the checkpoints of steps that are multiples of this (0: none)")
      ("resume", po::value(&o.resume)->default_value("auto"),
       "auto: continue from the newest valid checkpoint in <out>/checkpoints if any; never; or a "
       "checkpoint folder")
      ("dry-run", po::bool_switch(&o.dry_run),
       "check config, shards and task definitions, print the resolved config, the schedule and a memory "
       "estimate, and exit");
  // clang-format on
  std::ostringstream help;
  help << desc;
  parsed.help_text = help.str();
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      parsed.help = true;
      return parsed;
    }
    if (vm.count("config")) {
      std::string path = vm["config"].as<std::string>();
      std::ifstream in(path);
      MTDNN_INPUT_CHECK(in.good(), "--config {}: cannot open the file", path);
      try {
        po::store(po::parse_config_file(in, desc), vm);
      } catch (const po::error& e) {
        throw InputError(fmt::format("--config {}: {}", path, e.what()));
      }
    }
    po::notify(vm);
    if (vm.count("dropout")) o.dropout = dropout;
  } catch (const po::error& e) {
    throw InputError(fmt::format("{} (see --help)", e.what()));
  }
  o.tasks = split_list(tasks);
  validate(o);
  return parsed;
}

void validate(const TrainOptions& o) {
  MTDNN_INPUT_CHECK(!o.data_dir.empty(), "--data is required (the folder mtdnn-preprocess wrote)");
  MTDNN_INPUT_CHECK(!o.task_def.empty(), "--task-def is required");
  MTDNN_INPUT_CHECK(!o.out_dir.empty() || o.dry_run, "--out is required");
  MTDNN_INPUT_CHECK(o.bert_config.empty() != o.init_checkpoint.empty(),
                    "give exactly one of --bert-config (fresh model) and --init-checkpoint (pretrained BERT)");
  MTDNN_INPUT_CHECK(!o.init_heads || !o.init_checkpoint.empty(), "--init-heads needs --init-checkpoint");
  MTDNN_INPUT_CHECK(o.max_seq_len >= 2, "--max-seq-len must be >= 2, got {}", o.max_seq_len);
  MTDNN_INPUT_CHECK(o.batch_size >= 1, "--batch-size must be >= 1, got {}", o.batch_size);
  MTDNN_INPUT_CHECK(o.epochs >= 1, "--epochs must be >= 1, got {}", o.epochs);
  MTDNN_INPUT_CHECK(o.max_steps >= 0, "--max-steps must be >= 0, got {}", o.max_steps);
  MTDNN_INPUT_CHECK(o.mix_opt >= 0, "--mix-opt must be >= 0, got {}", o.mix_opt);
  MTDNN_INPUT_CHECK(o.ratio >= 0 && std::isfinite(o.ratio), "--ratio must be >= 0, got {}", o.ratio);
  MTDNN_INPUT_CHECK(o.temperature >= 0 && std::isfinite(o.temperature), "--temperature must be >= 0, got {}",
                    o.temperature);
  MTDNN_INPUT_CHECK(o.bucket_window >= 0, "--bucket-window must be >= 0, got {}", o.bucket_window);
  MTDNN_INPUT_CHECK(o.optimizer == "adamw" || o.optimizer == "adamax", "--optimizer must be adamw or adamax, got '{}'",
                    o.optimizer);
  MTDNN_INPUT_CHECK(o.lr > 0 && std::isfinite(o.lr), "--lr must be > 0, got {}", o.lr);
  MTDNN_INPUT_CHECK(o.warmup >= 0 && o.warmup <= 1, "--warmup is a fraction of the steps in [0, 1], got {}",
                    o.warmup);
  MTDNN_INPUT_CHECK(o.lr_schedule == "linear" || o.lr_schedule == "constant",
                    "--lr-schedule must be linear or constant, got '{}'", o.lr_schedule);
  MTDNN_INPUT_CHECK(o.weight_decay >= 0, "--weight-decay must be >= 0, got {}", o.weight_decay);
  MTDNN_INPUT_CHECK(o.beta1 >= 0 && o.beta1 < 1, "--beta1 must lie in [0, 1), got {}", o.beta1);
  MTDNN_INPUT_CHECK(o.beta2 >= 0 && o.beta2 < 1, "--beta2 must lie in [0, 1), got {}", o.beta2);
  MTDNN_INPUT_CHECK(o.eps > 0, "--eps must be > 0, got {}", o.eps);
  MTDNN_INPUT_CHECK(std::isfinite(o.grad_clip), "--grad-clip must be finite, got {}", o.grad_clip);
  MTDNN_INPUT_CHECK(o.grad_accum >= 1, "--grad-accum must be >= 1, got {}", o.grad_accum);
  MTDNN_INPUT_CHECK(!o.dropout || (*o.dropout >= 0 && *o.dropout < 1), "--dropout must lie in [0, 1), got {}",
                    o.dropout.value_or(0));
  MTDNN_INPUT_CHECK(o.max_bad_steps >= 1, "--max-bad-steps must be >= 1, got {}", o.max_bad_steps);
  MTDNN_INPUT_CHECK(o.backend == "mpi" || o.backend == "gloo" || o.backend == "nccl",
                    "--backend must be mpi, gloo or nccl, got '{}'", o.backend);
  MTDNN_INPUT_CHECK(o.threads >= 0, "--threads must be >= 0, got {}", o.threads);
  MTDNN_INPUT_CHECK(o.prefetch >= 0, "--prefetch must be >= 0, got {}", o.prefetch);
  MTDNN_INPUT_CHECK(o.log_every >= 1, "--log-every must be >= 1, got {}", o.log_every);
  MTDNN_INPUT_CHECK(o.eval_every >= 0, "--eval-every must be >= 0, got {}", o.eval_every);
  MTDNN_INPUT_CHECK(o.eval_batch_size >= 1, "--eval-batch-size must be >= 1, got {}", o.eval_batch_size);
  MTDNN_INPUT_CHECK(o.checkpoint_every >= 0, "--checkpoint-every must be >= 0, got {}", o.checkpoint_every);
  MTDNN_INPUT_CHECK(o.checkpoint_minutes >= 0 && std::isfinite(o.checkpoint_minutes),
                    "--checkpoint-minutes must be >= 0, got {}", o.checkpoint_minutes);
  MTDNN_INPUT_CHECK(o.keep_checkpoints >= 0, "--keep-checkpoints must be >= 0, got {}", o.keep_checkpoints);
  MTDNN_INPUT_CHECK(o.keep_checkpoint_every >= 0, "--keep-checkpoint-every must be >= 0, got {}",
                    o.keep_checkpoint_every);
  MTDNN_INPUT_CHECK(!o.resume.empty(), "--resume must be auto, never or a checkpoint folder");
  for (const auto& t : o.tasks) MTDNN_INPUT_CHECK(t.find('_') == std::string::npos, "--tasks: task names have no '_', got '{}'", t);
}

nlohmann::ordered_json to_json(const TrainOptions& o) {
  nlohmann::ordered_json j;
  j["data"] = o.data_dir;
  j["task-def"] = o.task_def;
  j["tasks"] = o.tasks;
  j["bert-config"] = o.bert_config;
  j["init-checkpoint"] = o.init_checkpoint;
  j["init-heads"] = o.init_heads;
  j["max-seq-len"] = o.max_seq_len;
  j["batch-size"] = o.batch_size;
  j["epochs"] = o.epochs;
  j["max-steps"] = o.max_steps;
  j["mix-opt"] = o.mix_opt;
  j["ratio"] = o.ratio;
  j["temperature"] = o.temperature;
  j["bucket-window"] = o.bucket_window;
  j["seed"] = o.seed;
  j["optimizer"] = o.optimizer;
  j["lr"] = o.lr;
  j["warmup"] = o.warmup;
  j["lr-schedule"] = o.lr_schedule;
  j["weight-decay"] = o.weight_decay;
  j["beta1"] = o.beta1;
  j["beta2"] = o.beta2;
  j["eps"] = o.eps;
  j["grad-clip"] = o.grad_clip;
  j["grad-accum"] = o.grad_accum;
  j["dropout"] = o.dropout ? nlohmann::ordered_json(*o.dropout) : nlohmann::ordered_json(nullptr);
  j["max-bad-steps"] = o.max_bad_steps;
  j["backend"] = o.backend;
  j["threads"] = o.threads;
  j["prefetch"] = o.prefetch;
  j["out"] = o.out_dir;
  j["log-every"] = o.log_every;
  j["eval-every"] = o.eval_every;
  j["eval-batch-size"] = o.eval_batch_size;
  j["dry-run"] = o.dry_run;
  j["checkpoint-every"] = o.checkpoint_every;
  j["checkpoint-minutes"] = o.checkpoint_minutes;
  j["keep-checkpoints"] = o.keep_checkpoints;
  j["keep-checkpoint-every"] = o.keep_checkpoint_every;
  j["resume"] = o.resume;
  return j;
}

}  // namespace mtdnn::orchestrator
