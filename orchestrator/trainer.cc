// The trainer: setup checks, schedule plan, the step loop of the round protocol, evaluation
// and outputs (see trainer.h). Every step of comm/round_protocol.h is named where it runs.
#include "orchestrator/trainer.h"

#include <torch/torch.h>
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include <algorithm>
#include <cstring>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include "checkpoints/checkpoint_reader.h"
#include "checkpoints/checkpoint_writer.h"
#include "checkpoints/model_state.h"
#include "comm/grad_comm.h"
#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "orchestrator/generator_state.h"
#include "orchestrator/metrics_log.h"
#include "orchestrator/progress.h"
#include "orchestrator/stop_request.h"
#include "schedule/schedule.h"
#include "sharding/split_reader.h"
#include "worker/batch_loader.h"
#include "worker/batch_tensors.h"
#include "worker/bert_config.h"
#include "worker/bert_encoder.h"
#include "worker/cpu_runtime.h"
#include "worker/evaluator.h"
#include "worker/grad_reducer.h"
#include "worker/head_registry.h"
#include "worker/hf_interop.h"
#include "worker/model_folder.h"
#include "worker/mtdnn_model.h"
#include "worker/optimizer.h"

namespace fs = std::filesystem;

namespace mtdnn::orchestrator {

namespace {

// Whether a head of `task` ties its output layer to the word embeddings (the masked LM).
bool ties_word_embeddings(const worker::MtdnnModelImpl& model, const std::string& task) {
  for (const worker::TaskHeadImpl* head : model.heads_of(task))
    if (head->spec().kind == worker::HeadKind::kMaskedLm) return true;
  return false;
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  auto t = static_cast<int64_t>(std::llround(s));
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

std::string format_count(double x) {
  if (x >= 1e6) return fmt::format("{:.2f}M", x / 1e6);
  if (x >= 1e3) return fmt::format("{:.1f}k", x / 1e3);
  return fmt::format("{:.0f}", x);
}

// FNV-1a 64 over named tensors' names and bytes, in the given order.
class Fnv64 {
 public:
  void add(const std::string& name, const torch::Tensor& tensor) {
    for (char c : name) mix(static_cast<uint8_t>(c));
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();  // GPU tensors too
    const auto* bytes = static_cast<const uint8_t*>(t.data_ptr());
    const size_t n = static_cast<size_t>(t.numel()) * t.element_size();
    // Four bytes at a time: float32 words, as the initial-weights checksum always was.
    for (size_t i = 0; i + 4 <= n; i += 4) {
      uint32_t w;
      std::memcpy(&w, bytes + i, 4);
      mix(w);
    }
    for (size_t i = n - n % 4; i < n; ++i) mix(bytes[i]);
  }
  uint64_t value() const { return h_; }

 private:
  void mix(uint64_t word) {
    h_ ^= word;
    h_ *= 1099511628211ull;
  }
  uint64_t h_ = 14695981039346656037ull;
};

// A split evaluated during and after training.
struct EvalSplit {
  size_t task = 0;
  std::string split;
  std::unique_ptr<sharding::SplitReader> reader;
  bool labelled = false;  // dev-like: metrics; test: predictions only
};

// What one training step (R3-R5) gives the loop.
struct StepResult {
  comm::RoundStats stats;  // reduced over ranks
  double loss = NAN;       // global mean loss of the batch
  double grad_norm = NAN;  // NaN when skipped
  double lr = 0;
  bool skipped = false;    // NaN/Inf gradient norm or loss on some rank: no update
  bool stop_signal = false;  // some rank received a stop signal
};

// The wall clock of the step loop: rates leave evaluation out and count this run only.
struct RunClock {
  Clock::time_point start = Clock::now(), window_start = Clock::now(), last_progress = Clock::now();
  double eval_s = 0, window_eval_s = 0;
  double train_s() const { return std::max(1e-9, seconds_since(start) - eval_s); }
  double window_s() const { return std::max(1e-9, seconds_since(window_start) - window_eval_s); }
  void new_window() {
    window_start = Clock::now();
    window_eval_s = 0;
  }
  void add_eval(double s) {
    eval_s += s;
    window_eval_s += s;
  }
};

}  // namespace

uint64_t parameter_checksum(const worker::MtdnnModelImpl& model) {
  Fnv64 h;
  for (const auto& item : model.named_parameters()) h.add(item.key(), item.value().to(torch::kFloat));
  return h.value();
}

struct Trainer::Impl {
  Impl(TrainOptions options, comm::ControlPlane& p) : o(std::move(options)), plane(p), protocol(p) {}

  TrainOptions o;
  comm::ControlPlane& plane;
  comm::RoundProtocol protocol;

  std::vector<TaskDef> tasks;
  std::vector<std::unique_ptr<sharding::SplitReader>> train;  // per task
  std::vector<EvalSplit> evals;
  std::vector<std::string> not_preprocessed;  // "task/split" listed in split_names without shards
  sharding::TokenizerIdentity tokenizer;
  worker::BertConfig bert;
  std::string bert_config_path;
  schedule::ScheduleOptions schedule;
  std::vector<schedule::TaskSizes> sizes;
  std::vector<std::vector<int64_t>> batches;  // [epoch][task]: global batches planned
  std::vector<int64_t> epoch_steps;
  int64_t total = 0, warmup = 0;
  worker::ExecutionOptions exec;  // device and precision of this rank (--device, --precision)
  comm::CommBackend backend = comm::CommBackend::kMpi;  // --backend, auto resolved
  int threads = 1;       // intra-op threads of this rank
  std::string cpu_runtime;  // what configure_cpu_runtime set (CPU execution)
  int usable_cores = 1;  // the cores its CPU affinity allows
  int node_share = 1;    // the node's cores / ranks on the node

  worker::MtdnnModel model{nullptr};
  std::unique_ptr<comm::GradComm> comm;
  std::unique_ptr<worker::GradReducer> reducer;
  std::unique_ptr<worker::Optimizer> optimizer;
  worker::LrSchedule lr;
  std::unique_ptr<MetricsLog> metrics;
  std::unique_ptr<checkpoints::CheckpointWriter> writer;
  Clock::time_point last_checkpoint = Clock::now();
  int64_t checkpointed_step = -1;
  bool resumed = false;
  double imbalance_wait_s = 0;  // this run: waiting for slower ranks to finish backward
  double comm_wait_at_start = 0;  // the reducer's exposed wait before this run's first step

  bool rank0() const { return plane.rank() == 0; }
  void setup();
  nlohmann::ordered_json resolved_config() const;
  void build_model();
  void prepare_training();
  // S3-S4: the checkpoint to resume from, restored and verified; the fresh start otherwise.
  Progress resume();
  // Model, optimizer and this rank's generator from `loaded`, after checking that it trained
  // the same tasks with the same tokenizer and schedule; `where` names it in errors.
  void restore(const std::string& where, const checkpoints::TrainingState& loaded);
  // Weights and optimizer state: what every rank holds the same.
  uint64_t state_checksum() const;
  void open_outputs(int64_t resumed_step);
  // R1: rank 0's decisions for the step at `index` of `epoch`, checked by every rank.
  comm::RoundPlan plan_round(const Progress& p, int64_t epoch, int64_t index, int32_t task, bool stop_pending);
  // R3-R5 for `batch`.
  StepResult train_step(const worker::LocalBatch& batch, int64_t step);
  // The training record of metrics.jsonl and its log line.
  void log_step(const Progress& p, const StepResult& r, int64_t epoch, const std::string& task, const RunClock& clock,
                const TrainResult& waits);
  // R6 (and F2 with the test splits).
  std::vector<EvalRecord> evaluate(int64_t step, int64_t epoch, bool with_test);
  // C1: collective; rank 0 hands the full state to the background writer.
  void checkpoint(const Progress& p);

  // The step loop's helpers, in the order the loop calls them.
  worker::BatchLoader make_loader(const schedule::ScheduleOptions& so, const schedule::EpochSchedule& plan,
                                  int64_t first);
  worker::LocalBatch next_batch(worker::BatchLoader& loader, int64_t epoch, int64_t index);
  // Counters, the divergence guard and the stop request after a step.
  void count(const StepResult& r, const std::string& task, Progress* p, bool* stop_pending, TrainResult* result);
  void show_progress(const Progress& p, const Progress& first, int64_t epoch, RunClock* clock);
  void evaluate_timed(int64_t step, int64_t epoch, RunClock* clock, TrainResult* result);
  // F3: the model folder and the summary.
  void finish(const TrainResult& result, const Progress& first);
  std::string task_names() const;
  // This run's waits so far, given the loader's: for slower ranks, and for communication
  // beyond that (the reducer's exposed wait less the imbalance).
  void fill_waits(double loader_wait_s, TrainResult* result) const;
};

void Trainer::Impl::setup() {
  // S1: every rank was started with the same configuration.
  protocol.agree("resolved config", to_json(o).dump());
  tasks = select_tasks(load_task_defs(o.task_def), o.tasks, o.task_def);
  MTDNN_INPUT_CHECK(!tasks.empty(), "--task-def {}: no tasks to train", o.task_def);
  for (const auto& t : tasks) {
    train.push_back(std::make_unique<sharding::SplitReader>(o.data_dir, t.name, "train"));
    MTDNN_INPUT_CHECK(train.back()->label_kind() != sharding::LabelKind::kNone,
                      "task '{}': the train split in {} has no labels", t.name, o.data_dir);
    MTDNN_INPUT_CHECK(train.back()->size() > 0, "task '{}': the train split in {} is empty", t.name, o.data_dir);
  }
  // Every task's shards must come from one tokenizer and match the given task definitions.
  tokenizer = train[0]->manifest().tokenizer;
  for (size_t i = 0; i < tasks.size(); ++i) train[i]->expect(tasks[i], tokenizer);
  MTDNN_INPUT_CHECK(tokenizer.max_seq_len <= o.max_seq_len,
                    "--max-seq-len {}: the shards were preprocessed with --max-seq-len {}; re-run mtdnn-preprocess "
                    "with --max-seq-len {} or raise --max-seq-len", o.max_seq_len, tokenizer.max_seq_len, o.max_seq_len);

  bert_config_path = o.bert_config.empty() ? (fs::path(o.init_checkpoint) / "config.json").string() : o.bert_config;
  bert = worker::read_bert_config(bert_config_path);
  bert.validate(bert_config_path);
  MTDNN_INPUT_CHECK(o.max_seq_len <= bert.max_position_embeddings,
                    "--max-seq-len {} exceeds max_position_embeddings {} of {}", o.max_seq_len,
                    bert.max_position_embeddings, bert_config_path);
  MTDNN_INPUT_CHECK(tokenizer.vocab_size <= bert.vocab_size,
                    "the shards' vocabulary has {} tokens but vocab_size is {} in {}", tokenizer.vocab_size,
                    bert.vocab_size, bert_config_path);

  for (size_t i = 0; i < tasks.size(); ++i) {
    for (const auto& split : tasks[i].split_names) {
      if (split == "train") continue;
      if (!train[i]->manifest().find_split(split)) {
        not_preprocessed.push_back(tasks[i].name + "/" + split);
        continue;
      }
      EvalSplit e;
      e.task = i;
      e.split = split;
      e.reader = std::make_unique<sharding::SplitReader>(o.data_dir, tasks[i].name, split);
      e.reader->expect(tasks[i], tokenizer);
      e.labelled = e.reader->label_kind() != sharding::LabelKind::kNone;
      evals.push_back(std::move(e));
    }
  }

  schedule.seed = o.seed;
  schedule.batch_size = o.batch_size;
  schedule.mix_opt = o.mix_opt;
  schedule.ratio = o.ratio;
  schedule.temperature = o.temperature;
  for (const auto& r : train) sizes.push_back(worker::task_sizes_of(*r));
  int64_t planned = 0;
  for (int64_t e = 0; e < o.epochs; ++e) {
    schedule::EpochSchedule s = schedule::build_epoch_schedule(schedule, sizes, e);
    std::vector<int64_t> per_task(tasks.size(), 0);
    for (const auto& entry : s.entries) ++per_task[static_cast<size_t>(entry.task)];
    batches.push_back(per_task);
    epoch_steps.push_back(static_cast<int64_t>(s.size()));
    planned += static_cast<int64_t>(s.size());
  }
  total = o.max_steps > 0 ? std::min(planned, o.max_steps) : planned;
  MTDNN_INPUT_CHECK(total > 0, "the schedule has no steps (empty tasks?)");
  warmup = std::llround(o.warmup * static_cast<double>(total));
  usable_cores = worker::usable_cores();
  const int node_cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  node_share = std::max(1, node_cores / std::max(1, plane.local_size()));
  threads = worker::rank_threads(o.threads, usable_cores, node_cores, plane.local_size());
  exec = worker::resolve_execution(o.device, o.precision, plane.local_rank());
  backend = resolve_backend(o.backend, exec);
  // Every rank computes on the same kind of device in the same precision.
  protocol.agree("device and precision",
                 fmt::format("{} {}", exec.cuda() ? "cuda" : "cpu", worker::to_string(exec.precision)));
  MTDNN_INPUT_CHECK(backend != comm::CommBackend::kNccl || exec.cuda(),
                    "--backend nccl needs the ranks on GPUs (--device cuda or auto with a GPU visible)");
}

nlohmann::ordered_json Trainer::Impl::resolved_config() const {
  nlohmann::ordered_json j = to_json(o);
  std::vector<std::string> names;
  for (const auto& t : tasks) names.push_back(t.name);
  j["tasks"] = names;
  j["threads"] = threads;
  j["device"] = exec.cuda() ? "cuda" : "cpu";
  j["backend"] = comm::to_string(backend);
  j["world-size"] = plane.size();
  j["total-steps"] = total;
  j["warmup-steps"] = warmup;
  j["tokenizer"] = nlohmann::ordered_json::parse(tokenizer.to_json().dump());
  return j;
}

void Trainer::Impl::build_model() {
  if (model) return;
  if (exec.cuda())
    torch::set_num_threads(threads);
  else
    cpu_runtime = worker::configure_cpu_runtime({threads});
  worker::use_device(exec);
  seed_for_weights(o.seed);
  // Built and initialised on the CPU (the same weights on any device), then moved.
  worker::MtdnnModelOptions mo = worker::model_options_of(bert, tasks, o.dropout);
  mo.fused = exec.fused_kernels();
  mo.precision = exec.precision;
  model = worker::MtdnnModel(mo);
  if (!o.init_checkpoint.empty()) worker::load_hf_bert_into_model(*model, o.init_checkpoint);
  // Heads from the checkpoint: every task's with --init-heads; a MaskLM task's always (its
  // pretraining heads, from our names or Hugging Face's cls.*).
  std::vector<std::string> head_tasks;
  for (const auto& t : tasks)
    if (o.init_heads || task_kinds::kind_of(t).reads_corpus()) head_tasks.push_back(t.name);
  if (!o.init_checkpoint.empty() && !head_tasks.empty()) {
    const auto loaded = worker::load_matching_heads_into_model(*model, o.init_checkpoint, head_tasks);
    std::vector<std::string> fresh;
    for (const auto& task : head_tasks)
      for (const worker::TaskHeadImpl* head : model->heads_of(task)) {
        const std::string path = worker::head_path(head->spec());
        if (std::find(loaded.begin(), loaded.end(), path) == loaded.end()) fresh.push_back(path);
      }
    auto list = [](const std::vector<std::string>& v) {
      return v.empty() ? std::string("none") : fmt::format("{}", fmt::join(v, ", "));
    };
    if (rank0()) log_info("heads from {}: {}; fresh heads: {}", o.init_checkpoint, list(loaded), list(fresh));
  }
  model->train();
  // S2: the same seed gave the same weights everywhere.
  protocol.agree("initial weights checksum", comm::hex64(parameter_checksum(*model)));
  seed_dropout(o.seed, plane.rank());
}

void Trainer::Impl::prepare_training() {
  // A backend named on the command line is used even by a single rank (which then checks it
  // end to end, as the GPU check does with NCCL); auto uses none on one rank.
  if (plane.size() > 1 || (o.backend && plane.mpi() != nullptr)) {
    MTDNN_CHECK(plane.mpi() != nullptr, "{} ranks without MPI", plane.size());
    comm = comm::make_grad_comm(backend, *plane.mpi(), o.endpoints, exec.cuda() ? exec.device.index() : -1);
  }
  std::vector<worker::ParamGroup> groups;
  groups.push_back({"encoder", model->bert->parameters()});
  for (const auto& t : tasks) {
    std::vector<torch::Tensor> params;  // every head of the task (MaskLM: mlm and nsp)
    for (const worker::TaskHeadImpl* head : model->heads_of(t.name))
      for (const auto& p : head->parameters()) params.push_back(p);
    groups.push_back({"heads." + t.name, params});
  }
  // Apart from the masked-LM head (see train_step), task heads never tie an output layer to
  // the word embeddings, so their gradient rows are non-zero only at the ids a batch looks
  // up: reduced row-sparse (grad_reducer.h).
  reducer = std::make_unique<worker::GradReducer>(std::move(groups), comm.get(), plane.size(),
                                                  model->bert->embeddings->word_embeddings->weight);
  std::vector<worker::NamedParameter> named;
  for (const auto& item : model->named_parameters())
    if (item.value().requires_grad()) named.push_back({item.key(), item.value()});
  worker::OptimizerOptions oo;
  oo.kind = o.optimizer;
  oo.beta1 = o.beta1;
  oo.beta2 = o.beta2;
  oo.eps = o.eps;
  oo.weight_decay = o.weight_decay;
  oo.tensor_ops = !exec.device.is_cpu();
  optimizer = std::make_unique<worker::Optimizer>(std::move(named), oo);
  lr = worker::LrSchedule{o.lr_schedule, o.lr, warmup, total};
}

uint64_t Trainer::Impl::state_checksum() const {
  Fnv64 h;
  for (const auto& item : model->named_parameters()) h.add(item.key(), item.value());
  for (const auto& [name, t] : optimizer->state_tensors()) h.add(name, t);
  return h.value();
}

Progress Trainer::Impl::resume() {
  // S3: rank 0 chooses, every rank reads the same path.
  std::string choice;
  if (rank0() && o.resume == "auto") {
    auto found = checkpoints::find_latest_valid((fs::path(o.out_dir) / "checkpoints").string());
    if (found) choice = found->path;
  } else if (rank0() && o.resume != "never") {
    choice = o.resume;
  }
  const std::string path = protocol.choose_checkpoint(choice);
  if (path.empty()) return Progress{};
  resumed = true;
  checkpoints::TrainingState loaded = checkpoints::load_checkpoint(path, o.resume != "auto");
  const std::string where = "--resume " + path;
  restore(where, loaded);
  // S4: every rank restored the same state.
  protocol.agree(fmt::format("restored state checksum (checkpoint {})", path), comm::hex64(state_checksum()));
  Progress p = Progress::from_json(loaded.meta, where);
  if (rank0()) log_info("resuming from {} at step {} (epoch {}, batch {})", path, p.step, p.epoch, p.position);
  return p;
}

void Trainer::Impl::restore(const std::string& where, const checkpoints::TrainingState& loaded) {
  const nlohmann::json& meta = loaded.meta;
  // The run must train the same tasks with the same tokenizer and schedule.
  std::vector<std::string> want, have;
  for (const auto& t : tasks) want.push_back(t.name);
  for (const auto& t : meta.value("tasks", nlohmann::json::array())) have.push_back(t.value("name", "?"));
  MTDNN_INPUT_CHECK(want == have, "{}: the checkpoint trained tasks [{}], this run trains [{}]", where,
                    fmt::join(have, ","), fmt::join(want, ","));
  for (size_t i = 0; i < tasks.size(); ++i)
    MTDNN_INPUT_CHECK(meta["tasks"][i] == tasks[i].to_json(),
                      "{}: task '{}' has another definition in the checkpoint: {} (this run: {})", where,
                      tasks[i].name, meta["tasks"][i].dump(), tasks[i].to_json().dump());
  MTDNN_INPUT_CHECK(meta.value("tokenizer", nlohmann::json()) == tokenizer.to_json(),
                    "{}: the checkpoint's tokenizer {} differs from the shards' tokenizer {}", where,
                    meta.value("tokenizer", nlohmann::json()).dump(), tokenizer.to_json().dump());
  const auto& ls = meta.at("lr_schedule");
  MTDNN_INPUT_CHECK(ls.value("total_steps", int64_t{-1}) == total && ls.value("warmup_steps", int64_t{-1}) == warmup,
                    "{}: the checkpoint's run has {} steps ({} warm-up), this one {} ({} warm-up): the schedule "
                    "options differ", where, ls.value("total_steps", int64_t{-1}), ls.value("warmup_steps", int64_t{-1}),
                    total, warmup);
  checkpoints::restore_tensors_strict(loaded, checkpoints::module_tensors(*model, checkpoints::kModelPrefix),
                                      checkpoints::kModelPrefix, where);
  optimizer->load_state_tensors([&](std::map<std::string, torch::Tensor>& targets) {
    std::map<std::string, torch::Tensor> prefixed;
    for (auto& [name, t] : targets) prefixed[checkpoints::kOptimizerPrefix + name] = t;
    checkpoints::restore_tensors_strict(loaded, prefixed, checkpoints::kOptimizerPrefix, where);
  });
  // Dropout's generator: this rank's stream when the world size is the same; otherwise a
  // fresh stream per rank, keyed by the step (the result then matches to float rounding).
  const std::string key = generator_key(plane.rank());
  const bool same_world = meta.value("world_size", 0) == plane.size();
  if (same_world && loaded.tensors.count(key)) {
    set_cpu_generator_state(loaded.tensors.at(key));
    // On a GPU, dropout draws from the device's generator: its state when the checkpoint
    // was written on a GPU, else (written on the CPU) a fresh stream keyed by the step.
    if (exec.cuda()) {
      const std::string cuda_key = cuda_generator_key(plane.rank());
      const int64_t step = meta.at("step").get<int64_t>();
      if (loaded.tensors.count(cuda_key))
        set_cuda_generator_state(exec.device.index(), loaded.tensors.at(cuda_key));
      else
        seed_cuda_dropout_after_resume(exec.device.index(), o.seed, step, plane.rank());
    }
  } else {
    seed_dropout_after_resume(o.seed, meta.at("step").get<int64_t>(), plane.rank());
    if (rank0())
      log_info("{}: written by {} rank(s), resumed on {}: dropout draws a new stream", where,
               meta.value("world_size", 0), plane.size());
  }
}

void Trainer::Impl::open_outputs(int64_t resumed_step) {
  // A resumed run keeps the records up to the checkpoint's step (later ones were written by
  // steps that run again).
  if (rank0()) {
    fs::create_directories(fs::path(o.out_dir) / "predictions");
    write_file_atomic((fs::path(o.out_dir) / "config.json").string(), resolved_config().dump(2) + "\n");
  }
  metrics = std::make_unique<MetricsLog>((fs::path(o.out_dir) / "metrics.jsonl").string(), rank0(), resumed_step);
  checkpoints::CheckpointWriterOptions wo;
  wo.root = (fs::path(o.out_dir) / "checkpoints").string();
  wo.is_writer = rank0();
  wo.retention.keep_last = o.keep_checkpoints;
  wo.retention.keep_every = o.keep_checkpoint_every;
  wo.program = "mtdnn-train";
  writer = std::make_unique<checkpoints::CheckpointWriter>(wo);
  last_checkpoint = Clock::now();
  checkpointed_step = resumed_step;
}

comm::RoundPlan Trainer::Impl::plan_round(const Progress& p, int64_t epoch, int64_t index, int32_t task,
                                          bool stop_pending) {
  comm::RoundPlan mine;
  mine.step = p.step;
  mine.epoch = epoch;
  mine.index = index;
  mine.task = task;
  if (rank0()) {
    const int64_t next = p.step + 1;
    mine.stop = stop_pending || p.step >= total;
    mine.log = next % o.log_every == 0 || next == total;
    mine.eval = o.eval_every > 0 && next % o.eval_every == 0 && next < total;
    mine.checkpoint = next < total && ((o.checkpoint_every > 0 && next % o.checkpoint_every == 0) ||
                                       (o.checkpoint_minutes > 0 &&
                                        seconds_since(last_checkpoint) >= 60.0 * o.checkpoint_minutes));
  }
  return protocol.exchange_plan(mine);
}

void Trainer::Impl::log_step(const Progress& p, const StepResult& r, int64_t epoch, const std::string& task,
                             const RunClock& clock, const TrainResult& waits) {
  const double steps_per_s = static_cast<double>(p.window.steps) / clock.window_s();
  const double tokens_per_s = p.window.tokens / clock.window_s();
  nlohmann::ordered_json j;  // a "train" record of metrics.jsonl
  j["type"] = "train";
  j["step"] = p.step;
  j["epoch"] = epoch;
  j["task"] = task;
  j["loss"] = metric_json(r.loss);
  j["loss_avg"] = metric_json(p.window.loss_avg());
  j["lr"] = r.lr;
  j["grad_norm"] = metric_json(r.grad_norm);
  j["examples"] = static_cast<int64_t>(p.examples);
  j["real_tokens"] = static_cast<int64_t>(p.real_tokens);
  j["elapsed_s"] = seconds_since(clock.start);
  j["steps_per_s"] = steps_per_s;
  j["tokens_per_s"] = tokens_per_s;
  j["skipped_steps"] = p.skipped_steps;
  j["loader_wait_s"] = waits.loader_wait_s;
  j["imbalance_wait_s"] = waits.imbalance_wait_s;
  j["comm_wait_s"] = waits.comm_wait_s;
  metrics->write(j);
  if (rank0())
    log_info("step {}/{} epoch {} {} loss {:.4f} (avg {:.4f}) lr {:.2e} | {:.2f} steps/s {} tok/s", p.step, total,
             epoch, task, r.loss, p.window.loss_avg(), r.lr, steps_per_s, format_count(tokens_per_s));
}

void Trainer::Impl::checkpoint(const Progress& p) {
  if (checkpointed_step == p.step) return;
  // C1: every rank's generator state travels to rank 0, which saves.
  std::vector<std::string> states = plane.allgather(cpu_generator_state());
  std::vector<std::string> cuda_states;
  if (exec.cuda()) cuda_states = plane.allgather(cuda_generator_state(exec.device.index()));
  checkpointed_step = p.step;
  if (!rank0()) return;
  checkpoints::TrainingState state;
  state.tensors = checkpoints::module_tensors(*model, checkpoints::kModelPrefix);
  for (const auto& [name, t] : optimizer->state_tensors()) state.tensors[checkpoints::kOptimizerPrefix + name] = t;
  auto bytes = [](const std::string& s) {
    torch::Tensor t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
    std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
    return t;
  };
  for (size_t r = 0; r < states.size(); ++r) state.tensors[generator_key(static_cast<int>(r))] = bytes(states[r]);
  for (size_t r = 0; r < cuda_states.size(); ++r)
    state.tensors[cuda_generator_key(static_cast<int>(r))] = bytes(cuda_states[r]);
  nlohmann::json& meta = state.meta;
  meta = p.to_json();
  meta["lr_schedule"] = {{"kind", worker::to_string(o.lr_schedule)}, {"lr", o.lr}, {"warmup_steps", warmup},
                         {"total_steps", total}, {"next_step", p.step}};
  meta["config"] = nlohmann::json::parse(resolved_config().dump());
  nlohmann::json task_defs = nlohmann::json::array();
  for (const auto& t : tasks) task_defs.push_back(t.to_json());
  meta["tasks"] = task_defs;
  meta["tokenizer"] = tokenizer.to_json();
  meta["world_size"] = plane.size();
  meta["model"] = checkpoints::model_meta(worker::model_options_of(bert, tasks, o.dropout));
  writer->save(p.step, state);
  last_checkpoint = Clock::now();
}

void Trainer::Impl::fill_waits(double loader_wait_s, TrainResult* result) const {
  result->loader_wait_s = loader_wait_s;
  result->imbalance_wait_s = imbalance_wait_s;
  result->comm_wait_s = std::max(0.0, reducer->stats().exposed_wait_s - comm_wait_at_start - imbalance_wait_s);
}

std::string Trainer::Impl::task_names() const {
  std::vector<std::string> names;
  for (const auto& t : tasks) names.push_back(t.name);
  return fmt::format("{}", fmt::join(names, ","));
}

worker::BatchLoader Trainer::Impl::make_loader(const schedule::ScheduleOptions& so,
                                               const schedule::EpochSchedule& plan, int64_t first) {
  std::vector<const sharding::SplitReader*> readers;
  for (const auto& r : train) readers.push_back(r.get());
  worker::BatchLoaderOptions lo;
  lo.rank = plane.rank();
  lo.world = plane.size();
  lo.prefetch = o.prefetch;
  lo.bucket_window = o.bucket_window;
  lo.first_step = first;
  return worker::BatchLoader(readers, sizes, so, plan, lo);
}

worker::LocalBatch Trainer::Impl::next_batch(worker::BatchLoader& loader, int64_t epoch, int64_t index) {
  std::optional<worker::LocalBatch> batch = loader.next();
  MTDNN_CHECK(batch && batch->step == index, "the loader has no batch for step {} of epoch {}", index, epoch);
  return std::move(*batch);
}

void Trainer::Impl::count(const StepResult& r, const std::string& task, Progress* p, bool* stop_pending,
                          TrainResult* result) {
  p->examples += r.stats.examples;
  p->real_tokens += r.stats.real_tokens;
  p->window.add(r.stats.real_tokens, r.loss, r.skipped);
  if (r.stop_signal && !*stop_pending) {
    *stop_pending = true;
    result->stop_signal = stop_requested() ? stop_signal_name() : "a signal on another rank";
    if (rank0()) log_info("step {}: stop requested ({}): stopping at this round boundary", p->step, result->stop_signal);
  }
  if (!r.skipped) {
    p->bad_in_row = 0;
    return;
  }
  ++p->skipped_steps;
  ++p->bad_in_row;
  if (rank0())
    log_info("step {} (task {}): NaN/Inf gradient norm or loss, step skipped ({} in a row)", p->step, task,
             p->bad_in_row);
  if (p->bad_in_row >= o.max_bad_steps)
    throw Error(fmt::format("training diverged: {} consecutive steps with NaN/Inf gradients or loss (steps {}..{}, "
                            "--max-bad-steps {}); lower --lr or check the data of task '{}'",
                            p->bad_in_row, p->step - p->bad_in_row + 1, p->step, o.max_bad_steps, task));
}

void Trainer::Impl::show_progress(const Progress& p, const Progress& first, int64_t epoch, RunClock* clock) {
  if (!rank0() || !log_is_terminal() || seconds_since(clock->last_progress) <= 0.25) return;
  clock->last_progress = Clock::now();
  const double rate = std::max(1e-9, static_cast<double>(p.step - first.step) / clock->train_s());
  log_progress(fmt::format("step {}/{} epoch {} | {:.2f} steps/s | {} tok/s | ETA {}", p.step, total, epoch, rate,
                           format_count((p.real_tokens - first.real_tokens) / clock->train_s()),
                           format_duration(static_cast<double>(total - p.step) / rate)));
}

void Trainer::Impl::evaluate_timed(int64_t step, int64_t epoch, RunClock* clock, TrainResult* result) {
  const auto start = Clock::now();
  auto records = evaluate(step, epoch, false);
  result->evaluations.insert(result->evaluations.end(), records.begin(), records.end());
  clock->add_eval(seconds_since(start));
}

void Trainer::Impl::finish(const TrainResult& result, const Progress& first) {
  if (rank0()) {
    const std::string model_dir = (fs::path(o.out_dir) / "model").string();
    worker::save_model_folder(*model, o.task_def, tokenizer, model_dir);
    const double train_s = std::max(1e-9, result.seconds);
    const double steps = static_cast<double>(result.steps - first.step);
    log_info("{}{} steps in {} ({:.2f} steps/s, {} real tokens/s), {} skipped; model in {}",
             first.step > 0 ? fmt::format("resumed at step {}: ", first.step) : "", result.steps - first.step,
             format_duration(result.seconds), steps / train_s,
             format_count((result.real_tokens - first.real_tokens) / train_s), result.skipped_steps, model_dir);
    log_info("of that time rank 0 waited {:.1f}% for batches, {:.1f}% for slower ranks to finish backward (load "
             "imbalance) and {:.1f}% for gradient all-reduces not hidden by backward", 100 * result.loader_wait_s / train_s,
             100 * result.imbalance_wait_s / train_s, 100 * result.comm_wait_s / train_s);
  }
  plane.barrier();
}

// How each head of a step's task weights its loss (train_step's R3).
class HeadWeights {
 public:
  HeadWeights(const std::vector<task_kinds::HeadUse>& uses, const worker::LocalBatch& batch, comm::ControlPlane& plane)
      : per_target_(uses.size(), false), global_targets_(uses.size(), 0.0) {
    bool any = false;
    for (size_t h = 0; h < uses.size(); ++h) {
      per_target_[h] = uses[h].loss_per_target;
      any = any || per_target_[h];
      if (per_target_[h] && h < batch.targets.size())
        for (int64_t v : batch.targets[h].ints) global_targets_[h] += v != task_kinds::kNoTarget;
    }
    if (any) plane.allreduce(&global_targets_, global_targets_.size());  // every rank, same steps
  }
  // The weighted sum of the heads' losses for one micro-batch whose items are `item_weight`
  // (local items x world / global items; 0 for an empty slice).
  torch::Tensor loss(const std::vector<worker::HeadOutput>& outs, const worker::ModelInput& in, double item_weight,
                     double world) const {
    torch::Tensor total;
    for (size_t h = 0; h < outs.size(); ++h) {
      double w = item_weight;
      if (per_target_[h]) {
        const double targets =
            item_weight == 0 ? 0.0 : (in.labels.at(h) != task_kinds::kNoTarget).sum().item<double>();
        w = global_targets_[h] > 0 ? targets * world / global_targets_[h] : 0.0;
      }
      const torch::Tensor term = outs[h].loss * w;
      total = total.defined() ? total + term : term;
    }
    return total;
  }

 private:
  std::vector<bool> per_target_;
  std::vector<double> global_targets_;
};

StepResult Trainer::Impl::train_step(const worker::LocalBatch& batch, int64_t step) {
  const schedule::ScheduleEntry& entry = batch.entry;
  const TaskDef& task = tasks[static_cast<size_t>(entry.task)];
  const std::vector<std::string> active = {"encoder", "heads." + task.name};
  const double global_items = static_cast<double>(entry.end - entry.begin);
  const double world = plane.size();
  const task_kinds::TaskKind& kind = task_kinds::kind_of(task);
  const auto ranges = worker::split_micro_batches(batch, kind, o.grad_accum);
  comm::RoundStats mine;
  const auto step_start = Clock::now();
  // R3: forward/backward of each micro-batch; gradients reduced on the last one. A head's
  // local mean loss is weighted by its local share of the global batch x world, so that
  // the reducer's average over ranks is the head's mean over the global batch. The share
  // is in items (rows, groups), or in targets for a head whose loss is a mean over targets
  // (the masked LM): their global count is summed over ranks first.
  const HeadWeights heads(kind.heads(task), batch, plane);
  for (size_t m = 0; m < ranges.size(); ++m) {
    const worker::RowRange& r = ranges[m];
    const bool last = m + 1 == ranges.size();
    if (r.rows() == 0 && !last) continue;
    reducer->prepare(active, last);
    worker::ModelInput in;
    double weight = 0;
    const double items = static_cast<double>(worker::range_items(r, kind));
    if (r.rows() > 0) {
      in = worker::to_device(worker::model_input(batch, r, kind, true), exec);
      weight = items * world / global_items;
    } else {
      // Empty slice: zero gradients, same collectives.
      in = worker::to_device(worker::placeholder_input(kind, task), exec);
    }
    const torch::Tensor loss = heads.loss(model->forward_heads(task.name, in), in, weight, world);
    // The masked-LM decoder is tied to the word embeddings: every row has a gradient, so
    // such a step reduces the embeddings whole (no rows noted).
    if (!ties_word_embeddings(*model, task.name)) reducer->note_rows(in.input_ids);
    (loss * entry.loss_weight).backward();
    if (last) mine.compute_s = seconds_since(step_start);  // what follows waits for the other ranks
    reducer->finish();
    if (r.rows() > 0) {
      mine.loss_sum += loss.item<double>() * global_items / world;  // mean loss x items
      mine.items += items;
      mine.examples += static_cast<double>(r.rows());
      mine.real_tokens += static_cast<double>(worker::real_tokens(batch, r));
    }
  }
  // R4: the reduced gradients are the same on every rank; so is their norm, taken as the
  // maximum over ranks to rule out any rounding difference. The reducer took it while
  // writing the gradients back; one rank (or a GPU) asks the optimizer.
  const std::optional<double> reduced_norm = reducer->grad_norm();
  const double local_norm = reduced_norm ? *reduced_norm : optimizer->grad_norm();
  mine.nonfinite = std::isfinite(local_norm) && std::isfinite(mine.loss_sum) ? 0 : 1;
  mine.stop_signal = stop_requested() || (o.stop_after_step > 0 && step + 1 == o.stop_after_step) ? 1 : 0;
  mine.grad_norm = std::isfinite(local_norm) ? local_norm : 0.0;
  StepResult r;
  r.stats = protocol.reduce_stats(mine);
  imbalance_wait_s += r.stats.compute_s - mine.compute_s;
  r.loss = r.stats.items > 0 ? r.stats.loss_sum / r.stats.items : NAN;
  r.skipped = r.stats.nonfinite > 0;
  r.stop_signal = r.stats.stop_signal > 0;
  r.lr = lr.at(step);
  r.grad_norm = r.skipped ? NAN : r.stats.grad_norm;
  // R5: skip a NaN/Inf step, else clip and update.
  if (!r.skipped) optimizer->step(r.lr, worker::clip_coefficient(r.stats.grad_norm, o.grad_clip));
  optimizer->zero_grad();
  return r;
}

std::vector<EvalRecord> Trainer::Impl::evaluate(int64_t step, int64_t epoch, bool with_test) {
  std::vector<EvalRecord> records;
  for (const EvalSplit& e : evals) {
    if (!e.labelled && !with_test) continue;
    const TaskDef& task = tasks[e.task];
    auto start = Clock::now();
    worker::SplitPredictions p = worker::predict_split(*model, task, *e.reader, o.eval_batch_size, plane, exec);
    if (plane.rank() != 0) continue;
    if (task_kinds::kind_of(task).writes_submission())
      write_file_atomic((fs::path(o.out_dir) / worker::prediction_file_name(task.name, e.split)).string(),
                        worker::submission_tsv(task, p));
    if (p.prob_width > 0)  // each example's scores beside the submission file
      write_file_atomic(
          worker::scores_file_name((fs::path(o.out_dir) / worker::prediction_file_name(task.name, e.split)).string()),
          worker::scores_tsv(task, p));
    if (!e.labelled) continue;
    EvalRecord rec{task.name, e.split, step, worker::split_metrics(task, p)};
    nlohmann::ordered_json j;  // an "eval" record of metrics.jsonl
    j["type"] = "eval";
    j["step"] = step;
    j["epoch"] = epoch;
    j["task"] = task.name;
    j["split"] = e.split;
    j["examples"] = p.size();
    std::string line;
    for (const auto& [name, value] : rec.metrics) {
      j[name] = metric_json(value);
      line += fmt::format(" {} {:.2f}", name, value);
    }
    j["seconds"] = seconds_since(start);
    metrics->write(j);
    log_info("step {}: {}/{}{}", step, task.name, e.split, line);
    records.push_back(std::move(rec));
  }
  return records;
}

Trainer::Trainer(TrainOptions options, comm::ControlPlane& plane)
    : impl_(std::make_unique<Impl>(std::move(options), plane)) {
  impl_->setup();
}

Trainer::~Trainer() = default;

int64_t Trainer::total_steps() const { return impl_->total; }
int64_t Trainer::warmup_steps() const { return impl_->warmup; }

std::string Trainer::resolved_config_json() const { return impl_->resolved_config().dump(2); }

namespace {

std::string format_mib(double bytes) { return fmt::format("{:.0f} MiB", bytes / (1 << 20)); }

// Memory one rank needs, estimated from the configuration without building the model: the
// encoder's parameter count from the encoder itself, the heads built (they are small), and
// the activations backward keeps for a local batch at the maximum length. Activations are a
// rough upper bound (per layer: about 8 H + 2 I floats per token, plus the attention
// probabilities and their dropout mask); real batches are shorter.
std::string memory_estimate(const worker::BertConfig& c, const std::vector<TaskDef>& tasks, const TrainOptions& o,
                            int world) {
  double params = static_cast<double>(worker::bert_parameter_count(c));
  const auto registry = worker::builtin_head_registry();
  for (const auto& t : tasks)
    for (const auto& spec : worker::head_specs_of(t, o.dropout))
      for (const auto& p : registry.create(spec, c)->parameters()) params += static_cast<double>(p.numel());
  const double H = static_cast<double>(c.hidden_size), I = static_cast<double>(c.intermediate_size);
  const double weights = 4 * params, grads = 4 * params, optimizer = 8 * params;
  const double buckets = world > 1 ? 4 * params : 0;
  const double B = std::max(1.0, std::ceil(static_cast<double>(o.batch_size) / world / o.grad_accum));
  const double T = static_cast<double>(o.max_seq_len);
  const double activations =
      4 * (B * T * H * 3 + static_cast<double>(c.num_hidden_layers) *
                               (B * T * (8 * H + 2 * I) + 2 * B * static_cast<double>(c.num_attention_heads) * T * T));
  return fmt::format(
      "memory per rank (estimate): {:.0f} parameters; weights {}, gradients {}, optimizer state {}, all-reduce "
      "buckets {}, activations at length {} x {} rows {}; total {}\n",
      params, format_mib(weights), format_mib(grads), format_mib(optimizer), format_mib(buckets), o.max_seq_len,
      B, format_mib(activations), format_mib(weights + grads + optimizer + buckets + activations));
}

}  // namespace

std::string Trainer::schedule_summary() const {
  const Impl& m = *impl_;
  std::string out = fmt::format("{:<12} {:>10} {:>14}", "task", "examples", "type");
  for (size_t e = 0; e < m.batches.size(); ++e) out += fmt::format(" {:>9}", fmt::format("epoch {}", e));
  out += "\n";
  for (size_t t = 0; t < m.tasks.size(); ++t) {
    out += fmt::format("{:<12} {:>10} {:>14}", m.tasks[t].name, m.sizes[t].examples, m.tasks[t].task_type);
    for (const auto& per_task : m.batches) out += fmt::format(" {:>9}", per_task[t]);
    out += "\n";
  }
  out += fmt::format("{:<12} {:>10} {:>14}", "steps", "", "");
  for (int64_t s : m.epoch_steps) out += fmt::format(" {:>9}", s);
  out += "\n";
  out += fmt::format("global batch {} ({} per rank on {} ranks, {} micro-batches per step)\n", m.o.batch_size,
                     m.o.batch_size / m.plane.size(), m.plane.size(), m.o.grad_accum);
  out += fmt::format("total steps {}{}, warm-up steps {} ({} schedule, peak lr {})\n", m.total,
                     m.o.max_steps > 0 ? fmt::format(" (--max-steps {})", m.o.max_steps) : "", m.warmup,
                     worker::to_string(m.o.lr_schedule), m.o.lr);
  for (const auto& e : m.evals)
    out += fmt::format("evaluate {}/{}: {} examples{}\n", m.tasks[e.task].name, e.split, e.reader->size(),
                       e.labelled ? "" : " (predictions only)");
  for (const auto& s : m.not_preprocessed) out += fmt::format("not preprocessed, not evaluated: {}\n", s);
  out += memory_estimate(m.bert, m.tasks, m.o, m.plane.size());
  return out;
}

void Trainer::build_model() { impl_->build_model(); }

worker::MtdnnModelImpl& Trainer::model() {
  MTDNN_CHECK(impl_->model, "the model is built by run() or build_model()");
  return *impl_->model;
}

TrainResult Trainer::run() {
  Impl& m = *impl_;
  m.build_model();                             // S2
  m.prepare_training();
  Progress p = m.resume();                     // S3-S4
  const Progress first = p;                    // rates count this run's work only
  m.open_outputs(m.resumed ? p.step : -1);
  if (const std::string w = worker::thread_binding_warning(m.threads, m.usable_cores, m.node_share); !w.empty())
    log_info("rank {}: {}", m.plane.rank(), w);
  if (m.rank0()) {
    log_info("training {} on {} rank(s) x {} thread(s) (rank 0 may use {} core(s); {}, backend {}): {} steps ({} "
             "warm-up), {} parameters", m.task_names(), m.plane.size(), m.threads, m.usable_cores, m.exec.describe(),
             comm::to_string(m.backend), m.total, m.warmup, m.optimizer->params().size());
    if (!m.cpu_runtime.empty()) log_info("CPU runtime: {}", m.cpu_runtime);
    for (const auto& s : m.not_preprocessed) log_info("{}: not preprocessed, not evaluated", s);
  }
  TrainResult result;
  RunClock clock;
  m.comm_wait_at_start = m.reducer->stats().exposed_wait_s;
  double loader_wait_s = 0;
  int64_t epoch_now = p.epoch;
  bool stop_pending = false, stopped = false;

  for (int64_t epoch = p.epoch; epoch < m.o.epochs && p.step < m.total && !stopped; ++epoch) {
    epoch_now = epoch;
    // E1-E2: rank 0's seed, every rank's schedule, hashes compared.
    schedule::ScheduleOptions so = m.schedule;
    so.seed = m.protocol.start_epoch(epoch, m.o.seed);
    const schedule::EpochSchedule plan = schedule::build_epoch_schedule(so, m.sizes, epoch);
    m.protocol.verify_schedule(epoch, plan.size(), plan.hash());
    result.schedule_hashes.push_back(plan.hash());
    worker::BatchLoader loader = m.make_loader(so, plan, p.position);
    const int64_t epoch_size = static_cast<int64_t>(plan.size());
    for (int64_t index = p.position; index < epoch_size; ++index) {
      const int32_t task_index = plan.entries[static_cast<size_t>(index)].task;
      const comm::RoundPlan round = m.plan_round(p, epoch, index, task_index, stop_pending);  // R1
      if (round.stop) {                                                                      // R2
        stopped = true;
        break;
      }
      const StepResult r = m.train_step(m.next_batch(loader, epoch, index), p.step);        // R3-R5
      const std::string& task = m.tasks[static_cast<size_t>(task_index)].name;
      p.advance(epoch, index, epoch_size);
      m.count(r, task, &p, &stop_pending, &result);
      if (round.log) {
        m.fill_waits(loader_wait_s + loader.stats().wait_seconds, &result);
        m.log_step(p, r, epoch, task, clock, result);
        p.window = LogWindowSums{};
        clock.new_window();
      }
      m.show_progress(p, first, epoch, &clock);
      if (round.eval) m.evaluate_timed(p.step, epoch, &clock, &result);                      // R6
      if (round.checkpoint) m.checkpoint(p);                                                 // R7: C1
    }
    loader_wait_s += loader.stats().wait_seconds;
  }
  if (p.step >= m.total) result.stop_signal.clear();  // a signal during the last step: training is complete
  m.checkpoint(p);                                    // F1
  m.writer->wait();
  result.steps = p.step;
  result.skipped_steps = p.skipped_steps;
  result.examples = p.examples;
  result.real_tokens = p.real_tokens;
  result.seconds = clock.train_s();
  m.fill_waits(loader_wait_s, &result);
  if (result.stop_signal.empty()) {                   // F2
    auto records = m.evaluate(p.step, epoch_now, true);
    result.evaluations.insert(result.evaluations.end(), records.begin(), records.end());
  }
  m.finish(result, first);                            // F3
  return result;
}

}  // namespace mtdnn::orchestrator
