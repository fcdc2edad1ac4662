// The trainer: setup checks, schedule plan, step loop, evaluation and outputs (see
// trainer.h; the numbered steps S/E/R/F are those of round_protocol.h).
#include "orchestrator/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <thread>

#include "checkpoints/checkpoint_reader.h"
#include "checkpoints/checkpoint_writer.h"
#include "checkpoints/model_state.h"
#include "common/error.h"
#include "common/file_util.h"
#include "common/grad_comm.h"
#include "common/log.h"
#include "common/mpi_context.h"
#include "orchestrator/batch_loader.h"
#include "orchestrator/batch_tensors.h"
#include "orchestrator/evaluator.h"
#include "orchestrator/model_folder.h"
#include "orchestrator/rng.h"
#include "orchestrator/schedule.h"
#include "orchestrator/stop_request.h"
#include "sharding/split_reader.h"
#include "worker/bert_config.h"
#include "worker/grad_reducer.h"
#include "worker/head_registry.h"
#include "worker/hf_interop.h"
#include "worker/mtdnn_model.h"
#include "worker/optimizer.h"

namespace fs = std::filesystem;

namespace mtdnn::orchestrator {

namespace {

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

// A split evaluated during and after training.
struct EvalSplit {
  size_t task = 0;
  std::string split;
  std::unique_ptr<sharding::SplitReader> reader;
  bool labelled = false;  // dev-like: metrics; test: predictions only
};

// Metrics as JSON numbers (NaN, for degenerate inputs, as null).
nlohmann::ordered_json metric_json(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nullptr; }

// The steps since the last training record: their rate (evaluation time excluded) and
// their average loss.
struct LogWindow {
  Clock::time_point start = Clock::now();
  double eval_s = 0, tokens = 0, loss_sum = 0;
  int64_t steps = 0, finite_steps = 0;

  void add(double real_tokens, double loss, bool skipped) {
    ++steps;
    tokens += real_tokens;
    if (!skipped) {
      loss_sum += loss;
      ++finite_steps;
    }
  }
  double seconds() const { return std::max(1e-9, seconds_since(start) - eval_s); }
  double loss_avg() const { return finite_steps > 0 ? loss_sum / static_cast<double>(finite_steps) : NAN; }
  double steps_per_s() const { return static_cast<double>(steps) / seconds(); }
  double tokens_per_s() const { return tokens / seconds(); }
  void reset() { *this = LogWindow(); }
};

}  // namespace

uint64_t parameter_checksum(const worker::MtdnnModelImpl& model) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](uint64_t word) {
    h ^= word;
    h *= 1099511628211ull;
  };
  for (const auto& item : model.named_parameters()) {
    for (char c : item.key()) mix(static_cast<uint8_t>(c));
    torch::Tensor t = item.value().detach().to(torch::kFloat).contiguous();
    const auto* words = reinterpret_cast<const uint32_t*>(t.data_ptr<float>());
    for (int64_t i = 0; i < t.numel(); ++i) mix(words[i]);
  }
  return h;
}

struct Trainer::Impl {
  Impl(TrainOptions options, ControlPlane& p) : o(std::move(options)), plane(p), protocol(p) {}

  TrainOptions o;
  ControlPlane& plane;
  RoundProtocol protocol;

  std::vector<TaskDef> tasks;
  std::vector<std::unique_ptr<sharding::SplitReader>> train;  // per task
  std::vector<EvalSplit> evals;
  std::vector<std::string> not_preprocessed;  // "task/split" listed in split_names without shards
  sharding::TokenizerIdentity tokenizer;
  worker::BertConfig bert;
  std::string bert_config_path;
  ScheduleOptions schedule;
  std::vector<TaskSizes> sizes;
  std::vector<std::vector<int64_t>> batches;  // [epoch][task]: global batches planned
  std::vector<int64_t> epoch_steps;
  int64_t total = 0, warmup = 0;
  int threads = 1;

  worker::MtdnnModel model{nullptr};
  std::unique_ptr<GradComm> comm;
  std::unique_ptr<worker::GradReducer> reducer;
  std::unique_ptr<worker::Optimizer> optimizer;
  worker::LrSchedule lr;
  std::ofstream metrics;
  std::unique_ptr<checkpoints::CheckpointWriter> writer;
  Clock::time_point last_checkpoint = Clock::now();

  void setup();
  nlohmann::ordered_json resolved_config() const;
  void build_model();
  void prepare_training();
  void open_outputs(int64_t resumed_step);
  std::string checkpoint_root() const { return (fs::path(o.out_dir) / "checkpoints").string(); }
  // Collective: every rank's torch generator state travels to rank 0, which saves.
  void save_checkpoint(int64_t step, const nlohmann::json& progress);
  // Collective: the checkpoint to resume from ("" for a fresh start), the same on every rank.
  std::string resume_path();
  // Restores model, optimizer and generator; returns the checkpoint's meta.
  nlohmann::json restore(const std::string& path);
  void write_record(const nlohmann::ordered_json& record);
  // One round's R3..R5 for `batch`; returns the reduced stats.
  RoundStats train_step(const LocalBatch& batch, int64_t step, double* grad_norm, double* lr_used, bool* skipped);
  std::vector<EvalRecord> evaluate(int64_t step, int64_t epoch, bool with_test);
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
  for (const auto& r : train) sizes.push_back(task_sizes_of(*r));
  int64_t planned = 0;
  for (int64_t e = 0; e < o.epochs; ++e) {
    EpochSchedule s = build_epoch_schedule(schedule, sizes, e);
    std::vector<int64_t> per_task(tasks.size(), 0);
    for (const auto& entry : s.entries) ++per_task[static_cast<size_t>(entry.task)];
    batches.push_back(per_task);
    epoch_steps.push_back(static_cast<int64_t>(s.size()));
    planned += static_cast<int64_t>(s.size());
  }
  total = o.max_steps > 0 ? std::min(planned, o.max_steps) : planned;
  MTDNN_INPUT_CHECK(total > 0, "the schedule has no steps (empty tasks?)");
  warmup = std::llround(o.warmup * static_cast<double>(total));
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  threads = o.threads > 0 ? o.threads : std::max(1, static_cast<int>(cores) / std::max(1, plane.local_size()));
}

nlohmann::ordered_json Trainer::Impl::resolved_config() const {
  nlohmann::ordered_json j = to_json(o);
  std::vector<std::string> names;
  for (const auto& t : tasks) names.push_back(t.name);
  j["tasks"] = names;
  j["threads"] = threads;
  j["world-size"] = plane.size();
  j["total-steps"] = total;
  j["warmup-steps"] = warmup;
  j["tokenizer"] = nlohmann::ordered_json::parse(tokenizer.to_json().dump());
  return j;
}

void Trainer::Impl::build_model() {
  if (model) return;
  torch::set_num_threads(threads);
  torch::manual_seed(o.seed);
  model = worker::MtdnnModel(model_options_of(bert, tasks, o.dropout));
  if (!o.init_checkpoint.empty()) worker::load_hf_bert_into_model(*model, o.init_checkpoint);
  if (o.init_heads) {
    const auto loaded = worker::load_matching_heads_into_model(*model, o.init_checkpoint);
    std::vector<std::string> fresh;
    for (const auto& t : tasks)
      if (std::find(loaded.begin(), loaded.end(), t.name) == loaded.end()) fresh.push_back(t.name);
    auto list = [](const std::vector<std::string>& v) {
      return v.empty() ? std::string("none") : fmt::format("{}", fmt::join(v, ", "));
    };
    if (plane.rank() == 0) log_info("heads from {}: {}; fresh heads: {}", o.init_checkpoint, list(loaded), list(fresh));
  }
  model->train();
  // S2: the same seed gave the same weights everywhere.
  protocol.agree("initial weights checksum", hex64(parameter_checksum(*model)));
  // Dropout and SAN step dropout draw from torch's generator: one stream per rank.
  torch::manual_seed(mix64(o.seed ^ (0x5eed0000ull + static_cast<uint64_t>(plane.rank()))));
}

void Trainer::Impl::prepare_training() {
  if (plane.size() > 1) {
    MTDNN_CHECK(plane.mpi() != nullptr, "{} ranks without MPI", plane.size());
    comm = make_grad_comm(parse_comm_backend(o.backend), *plane.mpi());
  }
  std::vector<worker::ParamGroup> groups;
  groups.push_back({"encoder", model->bert->parameters()});
  for (const auto& t : tasks) groups.push_back({"heads." + t.name, model->head(t.name).parameters()});
  // Task heads never tie an output layer to the word embeddings, so their gradient rows are
  // non-zero only at the ids a batch looks up: reduced row-sparse (grad_reducer.h).
  reducer = std::make_unique<worker::GradReducer>(std::move(groups), comm.get(), plane.size(),
                                                  model->bert->embeddings->word_embeddings->weight);
  std::vector<worker::NamedParameter> named;
  for (const auto& item : model->named_parameters())
    if (item.value().requires_grad()) named.push_back({item.key(), item.value()});
  worker::OptimizerOptions oo;
  oo.kind = worker::parse_optimizer_kind(o.optimizer);
  oo.beta1 = o.beta1;
  oo.beta2 = o.beta2;
  oo.eps = o.eps;
  oo.weight_decay = o.weight_decay;
  optimizer = std::make_unique<worker::Optimizer>(std::move(named), oo);
  lr = worker::LrSchedule{worker::parse_lr_schedule_kind(o.lr_schedule), o.lr, warmup, total};
}

void Trainer::Impl::open_outputs(int64_t resumed_step) {
  if (plane.rank() != 0) return;
  fs::create_directories(fs::path(o.out_dir) / "predictions");
  nlohmann::ordered_json resolved = resolved_config();
  write_file_atomic((fs::path(o.out_dir) / "config.json").string(), resolved.dump(2) + "\n");
  const fs::path metrics_path = fs::path(o.out_dir) / "metrics.jsonl";
  if (resumed_step >= 0) {
    // Resume: keep the records up to the checkpoint's step (later ones were written by
    // steps that will run again), then append.
    std::string kept;
    std::ifstream in(metrics_path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("step") || j["step"].get<int64_t>() > resumed_step) continue;
      kept += line + "\n";
    }
    write_file_atomic(metrics_path.string(), kept);
    metrics.open(metrics_path, std::ios::app);
  } else {
    metrics.open(metrics_path, std::ios::trunc);
  }
  MTDNN_INPUT_CHECK(metrics.good(), "{}: cannot write metrics.jsonl", o.out_dir);
}

void Trainer::Impl::write_record(const nlohmann::ordered_json& record) {
  if (plane.rank() != 0) return;
  metrics << record.dump() << "\n";
  metrics.flush();
}

void Trainer::Impl::save_checkpoint(int64_t step, const nlohmann::json& progress) {
  torch::Tensor mine = at::detail::getDefaultCPUGenerator().get_state();
  std::string bytes(reinterpret_cast<const char*>(mine.data_ptr<uint8_t>()), static_cast<size_t>(mine.numel()));
  std::vector<std::string> states = plane.allgather(bytes);
  if (plane.rank() != 0) return;
  checkpoints::TrainingState state;
  state.tensors = checkpoints::module_tensors(*model, checkpoints::kModelPrefix);
  const auto& params = optimizer->params();
  const auto& slots = optimizer->state();
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string base = "optim/" + params[i].name + "/";
    if (slots[i].exp_avg.defined()) state.tensors[base + "exp_avg"] = slots[i].exp_avg;
    if (slots[i].exp_sec.defined()) state.tensors[base + "exp_sec"] = slots[i].exp_sec;
    state.tensors[base + "step"] = torch::tensor({slots[i].steps}, torch::kInt64);
  }
  for (size_t r = 0; r < states.size(); ++r) {
    torch::Tensor t = torch::empty({static_cast<int64_t>(states[r].size())}, torch::kUInt8);
    std::memcpy(t.data_ptr<uint8_t>(), states[r].data(), states[r].size());
    state.tensors[fmt::format("rng/cpu/rank{}", r)] = t;
  }
  nlohmann::json& meta = state.meta;
  meta = progress;
  meta["lr_schedule"] = {{"kind", o.lr_schedule}, {"lr", o.lr}, {"warmup_steps", warmup}, {"total_steps", total},
                         {"next_step", step}};
  meta["config"] = nlohmann::json::parse(resolved_config().dump());
  nlohmann::json task_defs = nlohmann::json::array();
  for (const auto& t : tasks) task_defs.push_back(t.to_json());
  meta["tasks"] = task_defs;
  meta["tokenizer"] = tokenizer.to_json();
  meta["world_size"] = plane.size();
  meta["model"] = checkpoints::model_meta(model_options_of(bert, tasks, o.dropout));
  writer->save(step, state);
  last_checkpoint = Clock::now();
}

std::string Trainer::Impl::resume_path() {
  std::string path;
  if (plane.rank() == 0 && o.resume != "never") {
    if (o.resume == "auto") {
      auto found = checkpoints::find_latest_valid(checkpoint_root());
      if (found) path = found->path;
    } else {
      path = o.resume;
    }
  }
  plane.broadcast(&path, 0);
  return path;
}

nlohmann::json Trainer::Impl::restore(const std::string& path) {
  checkpoints::TrainingState loaded = checkpoints::load_checkpoint(path, o.resume != "auto");
  const std::string where = "--resume " + path;
  const nlohmann::json& meta = loaded.meta;
  // The run must train the same tasks with the same tokenizer.
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
  std::map<std::string, torch::Tensor> optim;
  auto& params = optimizer->params();
  auto& slots = optimizer->mutable_state();
  std::vector<torch::Tensor> steps(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string base = "optim/" + params[i].name + "/";
    if (!slots[i].exp_avg.defined()) slots[i].exp_avg = torch::zeros_like(params[i].param);
    if (!slots[i].exp_sec.defined()) slots[i].exp_sec = torch::zeros_like(params[i].param);
    optim[base + "exp_avg"] = slots[i].exp_avg;
    optim[base + "exp_sec"] = slots[i].exp_sec;
    steps[i] = torch::zeros({1}, torch::kInt64);
    optim[base + "step"] = steps[i];
  }
  checkpoints::restore_tensors_strict(loaded, optim, "optim/", where);
  for (size_t i = 0; i < params.size(); ++i) slots[i].steps = steps[i].item<int64_t>();
  // Dropout's generator: this rank's stream when the world size is the same; otherwise a
  // fresh stream per rank, keyed by the step (the result then matches to float rounding).
  const int64_t step = meta.at("step").get<int64_t>();
  const std::string rng_name = fmt::format("rng/cpu/rank{}", plane.rank());
  if (meta.value("world_size", 0) == plane.size() && loaded.tensors.count(rng_name)) {
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(loaded.tensors.at(rng_name).contiguous().clone());
  } else {
    torch::manual_seed(mix64(o.seed ^ mix64(static_cast<uint64_t>(step)) ^ (0x5eed0000ull + plane.rank())));
    if (plane.rank() == 0)
      log_info("{}: written by {} rank(s), resumed on {}: dropout draws a new stream", path,
               meta.value("world_size", 0), plane.size());
  }
  return meta;
}

RoundStats Trainer::Impl::train_step(const LocalBatch& batch, int64_t step, double* grad_norm, double* lr_used,
                                     bool* skipped) {
  const ScheduleEntry& entry = batch.entry;
  const TaskDef& task = tasks[static_cast<size_t>(entry.task)];
  const std::vector<std::string> active = {"encoder", "heads." + task.name};
  const double global_items = static_cast<double>(entry.end - entry.begin);
  const double world = plane.size();
  const auto ranges = split_micro_batches(batch, task.task_type, o.grad_accum);
  RoundStats mine;
  // R3: forward/backward of each micro-batch; gradients reduced on the last one. The local
  // mean loss is weighted by local items x world / global items, so that the reducer's
  // average over ranks is the mean over the global batch.
  for (size_t m = 0; m < ranges.size(); ++m) {
    const RowRange& r = ranges[m];
    const bool last = m + 1 == ranges.size();
    if (r.rows() == 0 && !last) continue;
    reducer->prepare(active, last);
    worker::ModelInput in;
    double weight = 0;
    const double items = static_cast<double>(range_items(r, task.task_type));
    if (r.rows() > 0) {
      in = model_input(batch, r, task.task_type, true);
      weight = items * world / global_items * entry.loss_weight;
    } else {
      in = placeholder_input(task.task_type);  // empty slice: zero gradients, same collectives
    }
    worker::HeadOutput out = model->forward(task.name, in);
    reducer->note_rows(in.input_ids);
    (out.loss * weight).backward();
    reducer->finish();
    if (r.rows() > 0) {
      mine.loss_sum += out.loss.item<double>() * items;
      mine.items += items;
      mine.examples += static_cast<double>(r.rows());
      mine.real_tokens += static_cast<double>(real_tokens(batch, r));
    }
  }
  // R4: the reduced gradients are the same on every rank; so is their norm, taken as the
  // maximum over ranks to rule out any rounding difference.
  const double local_norm = optimizer->grad_norm();
  mine.nonfinite = std::isfinite(local_norm) && std::isfinite(mine.loss_sum) ? 0 : 1;
  mine.stop_signal = stop_requested() || (o.stop_after_step > 0 && step + 1 == o.stop_after_step) ? 1 : 0;
  mine.grad_norm = std::isfinite(local_norm) ? local_norm : 0.0;
  RoundStats all = protocol.reduce_stats(mine);
  const double norm = all.grad_norm;
  // R5: skip a NaN/Inf step, else clip and update.
  *skipped = all.nonfinite > 0;
  *lr_used = lr.at(step);
  *grad_norm = *skipped ? NAN : norm;
  if (!*skipped) optimizer->step(*lr_used, worker::clip_coefficient(norm, o.grad_clip));
  optimizer->zero_grad();
  return all;
}

std::vector<EvalRecord> Trainer::Impl::evaluate(int64_t step, int64_t epoch, bool with_test) {
  std::vector<EvalRecord> records;
  for (const EvalSplit& e : evals) {
    if (!e.labelled && !with_test) continue;
    const TaskDef& task = tasks[e.task];
    auto start = Clock::now();
    SplitPredictions p = predict_split(*model, task, *e.reader, o.eval_batch_size, plane);
    if (plane.rank() != 0) continue;
    write_file_atomic((fs::path(o.out_dir) / prediction_file_name(task.name, e.split)).string(),
                      submission_tsv(task, p));
    if (!e.labelled) continue;
    EvalRecord rec{task.name, e.split, step, split_metrics(task, p)};
    nlohmann::ordered_json j;
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
    write_record(j);
    log_info("step {}: {}/{}{}", step, task.name, e.split, line);
    records.push_back(std::move(rec));
  }
  return records;
}

Trainer::Trainer(TrainOptions options, ControlPlane& plane) : impl_(std::make_unique<Impl>(std::move(options), plane)) {
  impl_->setup();
}

Trainer::~Trainer() = default;

int64_t Trainer::total_steps() const { return impl_->total; }
int64_t Trainer::warmup_steps() const { return impl_->warmup; }

std::string Trainer::resolved_config_json() const { return impl_->resolved_config().dump(2); }

namespace {

std::string format_mib(double bytes) { return fmt::format("{:.0f} MiB", bytes / (1 << 20)); }

// Memory one rank needs, estimated from the configuration without building the model: the
// encoder's parameters counted from its shape, the heads built (they are small), and the
// activations backward keeps for a local batch at the maximum length. Activations are a
// rough upper bound (per layer: about 8 H + 2 I floats per token, plus the attention
// probabilities and their dropout mask); real batches are shorter.
std::string memory_estimate(const worker::BertConfig& c, const std::vector<TaskDef>& tasks, const TrainOptions& o,
                            int world) {
  const double H = static_cast<double>(c.hidden_size), I = static_cast<double>(c.intermediate_size);
  const double embeddings = static_cast<double>(c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * H + 2 * H;
  const double layer = 4 * (H * H + H) + 2 * H + 2 * H * I + I + H + 2 * H;
  double params = embeddings + static_cast<double>(c.num_hidden_layers) * layer + H * H + H;
  const auto registry = worker::builtin_head_registry();
  for (const auto& t : tasks)
    for (const auto& p : registry.create(head_spec_of(t, o.dropout), c)->parameters())
      params += static_cast<double>(p.numel());
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
    out += fmt::format("{:<12} {:>10} {:>14}", m.tasks[t].name, m.sizes[t].examples, to_string(m.tasks[t].task_type));
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
                     m.o.lr_schedule, m.o.lr);
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
  const bool rank0 = m.plane.rank() == 0;
  m.build_model();
  m.prepare_training();
  // Resume (--resume): model, optimizer, generators and the position in the schedule.
  const std::string resume_from = m.resume_path();
  nlohmann::json resumed;
  if (!resume_from.empty()) resumed = m.restore(resume_from);
  const int64_t resumed_step = resumed.is_null() ? -1 : resumed.at("step").get<int64_t>();
  m.open_outputs(resumed_step);
  checkpoints::CheckpointWriterOptions wo;
  wo.root = m.checkpoint_root();
  wo.is_writer = rank0;
  wo.retention.keep_last = m.o.keep_checkpoints;
  wo.retention.keep_every = m.o.keep_checkpoint_every;
  wo.program = "mtdnn-train";
  m.writer = std::make_unique<checkpoints::CheckpointWriter>(wo);
  m.last_checkpoint = Clock::now();
  if (rank0) {
    log_info("training {} on {} rank(s) x {} thread(s): {} steps ({} warm-up), {} parameters", [&] {
      std::string names;
      for (const auto& t : m.tasks) names += (names.empty() ? "" : ",") + t.name;
      return names;
    }(), m.plane.size(), m.threads, m.total, m.warmup, m.optimizer->params().size());
    for (const auto& s : m.not_preprocessed) log_info("{}: not preprocessed, not evaluated", s);
  }

  TrainResult result;
  const auto start = Clock::now();
  LogWindow window;
  double total_eval_s = 0;
  int64_t bad_in_row = 0, step = 0, last_epoch = 0, start_epoch = 0, start_index = 0, checkpointed = -1;
  bool stop_pending = false, stopped = false;
  auto last_progress = start;
  if (resumed_step >= 0) {
    step = result.steps = resumed_step;
    checkpointed = step;
    start_epoch = last_epoch = resumed.at("epoch").get<int64_t>();
    start_index = resumed.at("position").get<int64_t>();
    const auto& w = resumed.at("log_window");
    window.tokens = w.at("tokens").get<double>();
    window.loss_sum = w.at("loss_sum").get<double>();
    window.steps = w.at("steps").get<int64_t>();
    window.finite_steps = w.at("finite_steps").get<int64_t>();
    const auto& c = resumed.at("counters");
    result.skipped_steps = c.at("skipped_steps").get<int64_t>();
    result.examples = c.at("examples").get<double>();
    result.real_tokens = c.at("real_tokens").get<double>();
    bad_in_row = c.at("bad_in_row").get<int64_t>();
    if (rank0) log_info("resuming from {} at step {} (epoch {}, batch {})", resume_from, step, start_epoch, start_index);
  }
  // Rates count this run's work only: the step and token counters continue a resumed run.
  const int64_t first_step = step;
  const double first_tokens = result.real_tokens;
  const double comm_wait_at_start = m.reducer->stats().exposed_wait_s;
  // The state a checkpoint needs beyond tensors: where the next step is, the counters and
  // the open log window (so metrics.jsonl continues as if never interrupted).
  auto save = [&](int64_t epoch, int64_t next_index, int64_t epoch_size) {
    if (checkpointed == step) return;
    nlohmann::json progress;
    progress["step"] = step;
    progress["epoch"] = next_index >= epoch_size ? epoch + 1 : epoch;
    progress["position"] = next_index >= epoch_size ? 0 : next_index;
    progress["log_window"] = {{"tokens", window.tokens}, {"loss_sum", window.loss_sum}, {"steps", window.steps},
                              {"finite_steps", window.finite_steps}};
    progress["counters"] = {{"skipped_steps", result.skipped_steps}, {"examples", result.examples},
                            {"real_tokens", result.real_tokens}, {"bad_in_row", bad_in_row}};
    m.save_checkpoint(step, progress);
    checkpointed = step;
  };
  int64_t pos_epoch = start_epoch, pos_index = start_index, pos_size = 1;  // where the next step is

  for (int64_t epoch = start_epoch; epoch < m.o.epochs && step < m.total && !stopped; ++epoch) {
    // E1: rank 0's seed, every rank's schedule, hashes compared.
    last_epoch = epoch;
    ScheduleOptions so = m.schedule;
    so.seed = m.protocol.start_epoch(epoch, m.o.seed);
    EpochSchedule schedule = build_epoch_schedule(so, m.sizes, epoch);
    m.protocol.verify_schedule(schedule);
    result.schedule_hashes.push_back(schedule.hash());
    std::vector<const sharding::SplitReader*> readers;
    for (const auto& r : m.train) readers.push_back(r.get());
    BatchLoaderOptions lo;
    lo.rank = m.plane.rank();
    lo.world = m.plane.size();
    lo.prefetch = m.o.prefetch;
    lo.bucket_window = m.o.bucket_window;
    const int64_t first = epoch == start_epoch ? start_index : 0;
    lo.first_step = first;
    const int64_t epoch_size = static_cast<int64_t>(schedule.size());
    BatchLoader loader(readers, m.sizes, so, schedule, lo);
    pos_epoch = epoch;
    pos_index = first;
    pos_size = epoch_size;

    for (int64_t index = first; index < epoch_size; ++index) {
      // R1/R2: rank 0's plan for this round.
      RoundPlan mine;
      mine.step = step;
      mine.epoch = epoch;
      mine.index = index;
      mine.task = schedule.entries[static_cast<size_t>(index)].task;
      if (rank0) {
        mine.stop = stop_pending || step >= m.total;
        mine.log = (step + 1) % m.o.log_every == 0 || step + 1 == m.total;
        mine.eval = m.o.eval_every > 0 && (step + 1) % m.o.eval_every == 0 && step + 1 < m.total;
        mine.checkpoint = step + 1 < m.total &&
                          ((m.o.checkpoint_every > 0 && (step + 1) % m.o.checkpoint_every == 0) ||
                           (m.o.checkpoint_minutes > 0 &&
                            seconds_since(m.last_checkpoint) >= 60.0 * m.o.checkpoint_minutes));
      }
      RoundPlan plan = m.protocol.exchange_plan(mine);
      if (plan.stop) {
        stopped = true;
        break;
      }
      std::optional<LocalBatch> batch = loader.next();
      MTDNN_CHECK(batch && batch->step == index, "the loader has no batch for step {} of epoch {}", index, epoch);
      // R3-R5.
      double norm = 0, lr_used = 0;
      bool skipped = false;
      RoundStats stats = m.train_step(*batch, step, &norm, &lr_used, &skipped);
      const TaskDef& task = m.tasks[static_cast<size_t>(plan.task)];
      ++step;
      result.steps = step;
      pos_index = index + 1;
      result.examples += stats.examples;
      result.real_tokens += stats.real_tokens;
      const double loss = stats.items > 0 ? stats.loss_sum / stats.items : NAN;
      window.add(stats.real_tokens, loss, skipped);
      if (stats.stop_signal > 0 && !stop_pending) {
        stop_pending = true;
        result.stop_signal = stop_requested() ? stop_signal_name() : "a signal on another rank";
        if (rank0) log_info("step {}: stop requested ({}): stopping at this round boundary", step, result.stop_signal);
      }
      if (skipped) {
        ++result.skipped_steps;
        ++bad_in_row;
        if (rank0)
          log_info("step {} (task {}): NaN/Inf gradient norm or loss, step skipped ({} in a row)", step, task.name,
                   bad_in_row);
        if (bad_in_row >= m.o.max_bad_steps)
          throw Error(fmt::format("training diverged: {} consecutive steps with NaN/Inf gradients or loss (steps {}..{}, "
                                  "--max-bad-steps {}); lower --lr or check the data of task '{}'",
                                  bad_in_row, step - bad_in_row + 1, step, m.o.max_bad_steps, task.name));
      } else {
        bad_in_row = 0;
      }
      if (plan.log) {
        nlohmann::ordered_json j;
        j["type"] = "train";
        j["step"] = step;
        j["epoch"] = epoch;
        j["task"] = task.name;
        j["loss"] = metric_json(loss);
        j["loss_avg"] = metric_json(window.loss_avg());
        j["lr"] = lr_used;
        j["grad_norm"] = metric_json(norm);
        j["examples"] = static_cast<int64_t>(result.examples);
        j["real_tokens"] = static_cast<int64_t>(result.real_tokens);
        j["elapsed_s"] = seconds_since(start);
        j["steps_per_s"] = window.steps_per_s();
        j["tokens_per_s"] = window.tokens_per_s();
        j["skipped_steps"] = result.skipped_steps;
        j["loader_wait_s"] = result.loader_wait_s + loader.stats().wait_seconds;
        j["comm_wait_s"] = m.reducer->stats().exposed_wait_s - comm_wait_at_start;
        m.write_record(j);
        if (rank0)
          log_info("step {}/{} epoch {} {} loss {:.4f} (avg {:.4f}) lr {:.2e} | {:.2f} steps/s {} tok/s", step,
                   m.total, epoch, task.name, loss, window.loss_avg(), lr_used, window.steps_per_s(),
                   format_count(window.tokens_per_s()));
        window.reset();
      }
      if (rank0 && log_is_terminal() && seconds_since(last_progress) > 0.25) {
        last_progress = Clock::now();
        const double train_s = std::max(1e-9, seconds_since(start) - total_eval_s);
        const double rate = std::max(1e-9, (step - first_step) / train_s);
        log_progress(fmt::format("step {}/{} epoch {} | {:.2f} steps/s | {} tok/s | ETA {}", step, m.total, epoch,
                                 rate, format_count((result.real_tokens - first_tokens) / train_s),
                                 format_duration((m.total - step) / rate)));
      }
      if (plan.eval) {
        // R6.
        auto eval_start = Clock::now();
        auto records = m.evaluate(step, epoch, false);
        result.evaluations.insert(result.evaluations.end(), records.begin(), records.end());
        window.eval_s += seconds_since(eval_start);
        total_eval_s += seconds_since(eval_start);
      }
      if (plan.checkpoint) save(epoch, index + 1, epoch_size);
    }
    result.loader_wait_s += loader.stats().wait_seconds;
  }
  result.seconds = seconds_since(start) - total_eval_s;
  result.comm_wait_s = m.reducer->stats().exposed_wait_s - comm_wait_at_start;
  if (step >= m.total) result.stop_signal.clear();  // a signal during the last step: training is complete
  // A checkpoint at the end and at a stop request, committed before going on.
  save(pos_epoch, pos_index, pos_size);
  m.writer->wait();

  // F1: final evaluation unless a signal cut training short, then the model.
  if (result.stop_signal.empty()) {
    auto records = m.evaluate(step, last_epoch, true);
    result.evaluations.insert(result.evaluations.end(), records.begin(), records.end());
  }
  if (rank0) {
    save_model_folder(*m.model, m.o.task_def, m.tokenizer, (fs::path(m.o.out_dir) / "model").string());
    const double train_s = std::max(1e-9, result.seconds);
    log_info("{}{} steps in {} ({:.2f} steps/s, {} real tokens/s), {} skipped; model in {}",
             first_step > 0 ? fmt::format("resumed at step {}: ", first_step) : "", step - first_step,
             format_duration(result.seconds), (step - first_step) / train_s,
             format_count((result.real_tokens - first_tokens) / train_s), result.skipped_steps,
             (fs::path(m.o.out_dir) / "model").string());
    log_info("of that time rank 0 waited {:.1f}% for batches and {:.1f}% for gradient all-reduces not hidden by "
             "backward", 100 * result.loader_wait_s / train_s, 100 * result.comm_wait_s / train_s);
  }
  m.plane.barrier();
  return result;
}

}  // namespace mtdnn::orchestrator
