// mtdnn-train's options: Boost.Program_options description, validation, JSON dump
// (see train_options.h).
#include "orchestrator/train_options.h"

#include <boost/program_options.hpp>

#include <cmath>
#include <type_traits>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/command_line.h"
#include "common/error.h"
#include "worker/loss_scaler.h"

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

namespace {

// What a valid number is, and the words that complete "--flag <text>, got <value>".
struct Check {
  bool (*ok)(double);
  const char* text;
};
constexpr Check kAtLeast0{[](double v) { return v >= 0 && std::isfinite(v); }, "must be >= 0"};
constexpr Check kAtLeast1{[](double v) { return v >= 1; }, "must be >= 1"};
constexpr Check kAtLeast2{[](double v) { return v >= 2; }, "must be >= 2"};
constexpr Check kPositive{[](double v) { return v > 0 && std::isfinite(v); }, "must be > 0"};
constexpr Check kFinite{[](double v) { return std::isfinite(v); }, "must be finite"};
constexpr Check kUnitOpen{[](double v) { return v >= 0 && v < 1; }, "must lie in [0, 1)"};
constexpr Check kFraction{[](double v) { return v >= 0 && v <= 1; }, "is a fraction of the steps in [0, 1]"};

// A named choice parsed once into its enum by the enum's own parser.
template <typename E>
struct Choice {
  E* field;
  E (*parse)(const std::string&);
  const char* (*name)(E);
};

// One option of the table: flag (also the INI key and the config.json key), the field it
// sets, its help text and, for numbers, what a valid value is.
template <typename Field>
struct Option {
  const char* flag;
  Field field;  // a pointer into TrainOptions, or a Choice
  const char* help;
  const Check* check = nullptr;
};
template <typename Field>
Option(const char*, Field, const char*) -> Option<Field>;
template <typename Field>
Option(const char*, Field, const char*, const Check*) -> Option<Field>;

// The option table: every flag of mtdnn-train once, in --help order.
template <typename Visit>
void for_each_option(TrainOptions& o, Visit&& visit) {
  visit(Option{"data", &o.data_dir, "preprocessed shards (mtdnn-preprocess --out)"});
  visit(Option{"task-def", &o.task_def, "task definitions (mt-dnn's task_def.yml schema)"});
  visit(Option{"tasks", &o.tasks,
               "comma-separated tasks to train (default: all of --task-def); the first is mt-dnn's main task for "
               "--mix-opt and --ratio"});
  visit(Option{"bert-config", &o.bert_config, "config.json of a freshly initialised encoder"});
  visit(Option{"init-checkpoint", &o.init_checkpoint,
               "folder with a Hugging Face BERT (model.safetensors + config.json) to start the encoder from"});
  visit(Option{"init-heads", &o.init_heads,
               "with --init-checkpoint from an mtdnn-train model folder: also take the heads of the tasks it has "
               "(fine-tuning with them); the others start fresh"});
  visit(Option{"max-seq-len", &o.max_seq_len,
               "longest example in tokens; shards preprocessed with a larger --max-seq-len are refused", &kAtLeast2});
  visit(Option{"batch-size", &o.batch_size, "global batch: examples (ranking: groups) per step over all ranks",
               &kAtLeast1});
  visit(Option{"epochs", &o.epochs, "passes over the training data", &kAtLeast1});
  visit(Option{"max-steps", &o.max_steps, "stop after this many steps (0: no limit)", &kAtLeast0});
  visit(Option{"mix-opt", &o.mix_opt,
               "0: all tasks' batches shuffled together; > 0: auxiliary tasks first, the main task last", &kAtLeast0});
  visit(Option{"ratio", &o.ratio, "> 0: all main-task batches plus ratio x as many auxiliary batches", &kAtLeast0});
  visit(Option{"temperature", &o.temperature,
               "> 0: sample each step's task with probability ~ size^(1/T) (replaces --mix-opt/--ratio)", &kAtLeast0});
  visit(Option{"bucket-window", &o.bucket_window,
               "> 0: length bucketing over windows of this many batches (less padding)", &kAtLeast0});
  visit(Option{"seed", &o.seed, "seed of the weights and the data order"});
  visit(Option{"optimizer", Choice<worker::OptimizerKind>{&o.optimizer, worker::parse_optimizer_kind, worker::to_string},
               "adamw, adamax (mt-dnn's) or lamb"});
  visit(Option{"lr", &o.lr, "peak learning rate", &kPositive});
  visit(Option{"warmup", &o.warmup, "linear warm-up, as a fraction of the total steps", &kFraction});
  visit(Option{"lr-schedule",
               Choice<worker::LrScheduleKind>{&o.lr_schedule, worker::parse_lr_schedule_kind, worker::to_string},
               "linear: decay to 0 after the warm-up; constant: stay at --lr"});
  visit(Option{"weight-decay", &o.weight_decay, "decoupled weight decay (none on bias and LayerNorm)", &kAtLeast0});
  visit(Option{"beta1", &o.beta1, "first-moment decay", &kUnitOpen});
  visit(Option{"beta2", &o.beta2, "second-moment (AdamW) / infinity-norm (Adamax) decay", &kUnitOpen});
  visit(Option{"eps", &o.eps, "optimizer epsilon", &kPositive});
  visit(Option{"grad-clip", &o.grad_clip, "global gradient-norm clip (0: off)", &kFinite});
  visit(Option{"grad-accum", &o.grad_accum,
               "micro-batches per step (the global batch split; same result up to float rounding)", &kAtLeast1});
  visit(Option{"batches-per-step", &o.batches_per_step,
               "mt-dnn's --grad_accumulation_step: each step takes this many --batch-size batches of its task, so "
               "the global batch is their product and there are that many times fewer steps (config.json records "
               "the resulting --batch-size and --grad-accum)",
               &kAtLeast1});
  visit(Option{"dropout", &o.dropout, "override every dropout probability (encoder, heads, SAN steps)", &kUnitOpen});
  visit(Option{"max-bad-steps", &o.max_bad_steps,
               "abort after this many consecutive steps with NaN/Inf gradients (each is skipped)", &kAtLeast1});
  visit(Option{"comm-timeout", &o.comm_timeout,
               "seconds any collective may wait for the other ranks (0: forever), longer than the longest legitimate "
               "wait (a checkpoint, an evaluation); past it the job ends with exit status 86 and is resumed by "
               "slurm/run-with-requeue.sh", &kAtLeast0});
  visit(Option{"backend", Choice<std::optional<comm::CommBackend>>{&o.backend, parse_backend_choice, backend_choice_name},
               "gradient all-reduce: mpi, gloo, nccl, or auto (nccl on GPU, mpi on CPU)"});
  visit(Option{"device", Choice<worker::DeviceKind>{&o.device, worker::parse_device_kind, worker::to_string},
               "cpu, cuda (each rank the GPU of its node-local rank) or auto (cuda when LibTorch has CUDA and a "
               "GPU is visible)"});
  visit(Option{"precision", Choice<worker::Precision>{&o.precision, worker::parse_precision, worker::to_string},
               "fp32, bf16 or fp16: autocast for the encoder's matrix products; weights, optimizer state, LayerNorm, "
               "softmax and losses stay fp32; fp16 also scales the loss dynamically"});
  visit(Option{"loss-scale-init", &o.loss_scale_init,
               "fp16: the loss scale to start from, a power of two (halved on each overflow, which skips its step)",
               &kAtLeast1});
  visit(Option{"loss-scale-window", &o.loss_scale_window,
               "fp16: steps without an overflow after which the loss scale doubles", &kAtLeast1});
  visit(Option{"threads", &o.threads, "intra-op threads per rank (0: the cores its CPU affinity allows, at most cores / ranks on this node)", &kAtLeast0});
  visit(Option{"prefetch", &o.prefetch, "batches loaded ahead of compute", &kAtLeast0});
  visit(Option{"out", &o.out_dir, "output folder: config.json, metrics.jsonl, predictions/, model/"});
  visit(Option{"log-every", &o.log_every, "steps between training records", &kAtLeast1});
  visit(Option{"eval-every", &o.eval_every, "steps between dev evaluations (0: only at the end)", &kAtLeast0});
  visit(Option{"eval-batch-size", &o.eval_batch_size, "examples per evaluation batch", &kAtLeast1});
  visit(Option{"checkpoint-every", &o.checkpoint_every,
               "steps between checkpoints in <out>/checkpoints (0: only at the end and on a stop request)",
               &kAtLeast0});
  visit(Option{"checkpoint-minutes", &o.checkpoint_minutes,
               "also checkpoint every this many minutes of wall clock (0: off)", &kAtLeast0});
  visit(Option{"keep-checkpoints", &o.keep_checkpoints, "checkpoints kept (the newest; 0: all)", &kAtLeast0});
  visit(Option{"keep-checkpoint-every", &o.keep_checkpoint_every,
               "also keep the checkpoints of steps that are multiples of this (0: none)", &kAtLeast0});
  visit(Option{"resume", &o.resume,
               "auto: continue from the newest valid checkpoint in <out>/checkpoints if any; never; or a "
               "checkpoint folder"});
  visit(Option{"best-metric", &o.best_metric,
               "TASK:METRIC (e.g. rte:ACC) or mean (GLUE's average): keep the best evaluated state in <out>/best/ "
               "(a model folder with its complete checkpoint, never deleted by retention)"});
  visit(Option{"early-stop-patience", &o.early_stop_patience,
               "with --best-metric: stop cleanly (checkpoint, final evaluation, exit 0) after this many evaluations "
               "in a row without improvement (0: off)",
               &kAtLeast0});
  visit(Option{"dry-run", &o.dry_run,
               "check config, shards and task definitions, print the resolved config, the schedule and a memory "
               "estimate, and exit"});
}

// Adds an option to Boost.Program_options, by the type of its field.
class Describe {
 public:
  explicit Describe(po::options_description& desc) : add_(desc.add_options()) {}

  void operator()(const Option<bool*>& o) { add_(o.flag, po::bool_switch(o.field), o.help); }
  void operator()(const Option<std::string*>& o) {
    auto* v = po::value(o.field);
    if (!o.field->empty()) v->default_value(*o.field);
    add_(o.flag, v, o.help);
  }
  void operator()(const Option<std::vector<std::string>*>& o) {
    auto* field = o.field;
    add_(o.flag, po::value<std::string>()->notifier([field](const std::string& s) { *field = split_list(s); }),
         o.help);
  }
  void operator()(const Option<std::optional<double>*>& o) {
    auto* field = o.field;
    add_(o.flag, po::value<double>()->notifier([field](double v) { *field = v; }), o.help);
  }
  // Real-valued defaults shown as written (5e-05, not 5.0000000000000002e-05).
  void operator()(const Option<double*>& o) {
    add_(o.flag, po::value(o.field)->default_value(*o.field, fmt::format("{}", *o.field)), o.help);
  }
  template <typename Int>
  void operator()(const Option<Int*>& o) {
    add_(o.flag, po::value(o.field)->default_value(*o.field), o.help);
  }
  template <typename E>
  void operator()(const Option<Choice<E>>& o) {
    const Choice<E> c = o.field;
    const char* flag = o.flag;
    add_(o.flag,
         po::value<std::string>()->default_value(c.name(*c.field))->notifier([c, flag](const std::string& s) {
           try {
             *c.field = c.parse(s);
           } catch (const InputError& e) {
             throw InputError(fmt::format("--{}: {}", flag, e.what()));
           }
         }),
         o.help);
  }

 private:
  po::options_description_easy_init add_;
};

// Checks a number against its option's Check.
struct Validate {
  template <typename Field>
  void operator()(const Option<Field>& o) const {
    if constexpr (std::is_pointer_v<Field>) {
      using T = std::remove_pointer_t<Field>;
      if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
        check(o.flag, o.check, static_cast<double>(*o.field));
      } else if constexpr (std::is_same_v<T, std::optional<double>>) {
        if (o.field->has_value()) check(o.flag, o.check, **o.field);
      }
    }
  }
  static void check(const char* flag, const Check* c, double v) {
    MTDNN_INPUT_CHECK(!c || c->ok(v), "--{} {}, got {}", flag, c ? c->text : "", v);
  }
};

// Writes an option into the resolved configuration under its flag.
struct ToJson {
  nlohmann::ordered_json& j;
  template <typename Field>
  void operator()(const Option<Field>& o) const {
    if constexpr (std::is_same_v<Field, std::optional<double>*>) {
      j[o.flag] = o.field->has_value() ? nlohmann::ordered_json(**o.field) : nlohmann::ordered_json(nullptr);
    } else if constexpr (std::is_pointer_v<Field>) {
      j[o.flag] = *o.field;
    } else {
      j[o.flag] = o.field.name(*o.field.field);
    }
  }
};

}  // namespace

ParsedCommandLine parse_train_command_line(int argc, const char* const* argv) {
  ParsedCommandLine parsed;
  std::string config;
  po::options_description desc(
      "mtdnn-train: multi-task training of MT-DNN (a shared BERT encoder, one head per task)\n\n"
      "Usage: mpirun -np N mtdnn-train --data DIR --task-def FILE (--bert-config FILE | --init-checkpoint DIR)\n"
      "                                --out DIR [options]\n\n"
      "Options (every flag is also a key of the --config INI file; the command line wins)",
      /*line_length=*/110, /*min_description_length=*/60);
  desc.add_options()
      ("help,h", "print this help and exit")
      ("config", po::value(&config), "INI file with any of these options as keys");
  Describe describe(desc);
  for_each_option(parsed.options, describe);
  std::ostringstream help;
  help << desc;
  parsed.help_text = help.str();
  try {
    po::variables_map vm;
    if (!parse_command_line_and_config(argc, argv, desc, vm)) {
      parsed.help = true;
      return parsed;
    }
  } catch (const po::error& e) {
    throw InputError(fmt::format("{} (see --help)", e.what()));
  }
  validate(parsed.options);
  // mt-dnn's meaning of accumulation, as this program's terms: a global batch N times as
  // large, split into N times as many micro-batches. Folded in here so that everything
  // downstream, config.json and resume included, sees one description of the batch.
  TrainOptions& o = parsed.options;
  o.batch_size *= o.batches_per_step;
  o.grad_accum *= o.batches_per_step;
  o.batches_per_step = 1;
  return parsed;
}

void validate(const TrainOptions& options) {
  TrainOptions o = options;  // the table hands out pointers to fields; Validate only reads through them
  for_each_option(o, Validate{});
  MTDNN_INPUT_CHECK(!o.data_dir.empty(), "--data is required (the folder mtdnn-preprocess wrote)");
  MTDNN_INPUT_CHECK(!o.task_def.empty(), "--task-def is required");
  MTDNN_INPUT_CHECK(!o.out_dir.empty() || o.dry_run, "--out is required");
  MTDNN_INPUT_CHECK(o.bert_config.empty() != o.init_checkpoint.empty(),
                    "give exactly one of --bert-config (fresh model) and --init-checkpoint (pretrained BERT)");
  MTDNN_INPUT_CHECK(!o.init_heads || !o.init_checkpoint.empty(), "--init-heads needs --init-checkpoint");
  MTDNN_INPUT_CHECK(!o.resume.empty(), "--resume must be auto, never or a checkpoint folder");
  worker::LossScaler check_loss_scale({o.loss_scale_init, o.loss_scale_window});  // InputError if not a power of two
  MTDNN_INPUT_CHECK(o.early_stop_patience == 0 || !o.best_metric.empty(),
                    "--early-stop-patience needs --best-metric (the metric that must improve)");
  for (const auto& t : o.tasks)
    MTDNN_INPUT_CHECK(t.find('_') == std::string::npos, "--tasks: task names have no '_', got '{}'", t);
}

std::optional<comm::CommBackend> parse_backend_choice(const std::string& name) {
  if (name == "auto") return std::nullopt;
  try {
    return comm::parse_comm_backend(name);
  } catch (const InputError&) {
    throw InputError(fmt::format("expected auto, mpi, gloo or nccl, got '{}'", name));
  }
}

const char* backend_choice_name(std::optional<comm::CommBackend> backend) {
  return backend ? comm::to_string(*backend) : "auto";
}

comm::CommBackend resolve_backend(std::optional<comm::CommBackend> backend, const worker::ExecutionOptions& exec) {
  if (backend) return *backend;
  return exec.cuda() ? comm::CommBackend::kNccl : comm::CommBackend::kMpi;
}

nlohmann::ordered_json to_json(const TrainOptions& options) {
  nlohmann::ordered_json j;
  TrainOptions o = options;  // as in validate()
  for_each_option(o, ToJson{j});
  return j;
}

}  // namespace mtdnn::orchestrator
