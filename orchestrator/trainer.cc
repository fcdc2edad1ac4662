// The trainer: the run's parts made in order, and the step loop of the round protocol
// (see trainer.h). Every step of comm/round_protocol.h is named where it runs.
#include "orchestrator/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "checkpoints/checkpoint_reader.h"
#include "checkpoints/checkpoint_writer.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "orchestrator/best_tracker.h"
#include "orchestrator/dry_run.h"
#include "orchestrator/generator_state.h"
#include "orchestrator/progress.h"
#include "orchestrator/rank_placement.h"
#include "orchestrator/run_evaluation.h"
#include "orchestrator/run_inputs.h"
#include "orchestrator/run_model.h"
#include "orchestrator/run_snapshot.h"
#include "orchestrator/stop_request.h"
#include "worker/batch_loader.h"
#include "worker/distributed_step.h"
#include "worker/model_folder.h"
#include "worker/mtdnn_model.h"

namespace fs = std::filesystem;

namespace mtdnn::orchestrator {

namespace {

// The step loop's state across epochs.
struct Loop {
  TrainResult result;
  int64_t epoch = 0;
  bool stop_pending = false, stopped = false;
  bool early_stop = false;  // rank 0: --early-stop-patience ran out; the next round plan stops
  double loader_wait_s = 0;  // of finished epochs
};

}  // namespace

struct Trainer::Impl {
  Impl(TrainOptions options, comm::ControlPlane& plane);

  TrainOptions o;
  comm::RoundProtocol protocol;
  RunInputs in;
  RankPlacement place;
  std::unique_ptr<RunSnapshot> snapshot;
  worker::MtdnnModel model{nullptr};
  std::unique_ptr<worker::DistributedStep> step;
  worker::LrSchedule lr;
  std::unique_ptr<RunReport> report;
  std::unique_ptr<checkpoints::CheckpointWriter> writer;
  Clock::time_point last_checkpoint = Clock::now();
  int64_t checkpointed_step = -1;
  bool resumed = false;
  std::optional<BestTracker> best;  // rank 0, with --best-metric

  bool rank0() const { return protocol.rank() == 0; }
  nlohmann::ordered_json resolved_config() const;
  void build_model();
  void prepare_training();
  Progress resume();  // S3-S4
  void open_outputs(int64_t resumed_step);
  void run_epoch(int64_t epoch, const Progress& first, Progress* p, Loop* loop);
  comm::RoundPlan plan_round(const Progress& p, int64_t epoch, int64_t index, int32_t task, bool stop_pending);
  worker::StepResult train_step(const worker::LocalBatch& batch, int64_t s);  // R3-R5
  // Counters, the divergence guard and the stop request after a step.
  void count(const worker::StepResult& r, const std::string& task, Progress* p, Loop* loop);
  std::vector<EvalRecord> evaluate(int64_t step, int64_t epoch, bool with_test);  // R6 (F2 with test splits)
  void checkpoint(const Progress& p);  // C1
  // Rank 0, after an evaluation's records at step p.step: counts it for --best-metric and
  // --early-stop-patience; a new best is published once its checkpoint exists.
  // `final`: F2's evaluation, after which there is nothing left to stop.
  bool judge(const std::vector<EvalRecord>& records, Loop* loop, bool final = false);
  void publish_best(int64_t step);
  StepWaits waits(double loader_wait_s) const;
};

Trainer::Impl::Impl(TrainOptions options, comm::ControlPlane& plane) : o(std::move(options)), protocol(plane) {
  protocol.agree_config(to_json(o).dump());  // S1: every rank was started with the same configuration
  in = open_run_inputs(o);
  place = place_rank(o, protocol);
  // S1: every rank computes on the same kind of device in the same precision.
  protocol.agree_execution(place.device_and_precision());
  MTDNN_INPUT_CHECK(place.backend != comm::CommBackend::kNccl || place.exec.cuda(),
                    "--backend nccl needs the ranks on GPUs (--device cuda or auto with a GPU visible)");
  snapshot = std::make_unique<RunSnapshot>(in, o, nlohmann::json::parse(resolved_config().dump()), protocol.rank(),
                                           protocol.size(), place.exec);
}

nlohmann::ordered_json Trainer::Impl::resolved_config() const {
  nlohmann::ordered_json j = to_json(o);
  std::vector<std::string> names;
  for (const auto& t : in.tasks) names.push_back(t.name);
  j["tasks"] = names;
  j["threads"] = place.threads;
  j["device"] = place.exec.cuda() ? "cuda" : "cpu";
  j["backend"] = comm::to_string(place.backend);
  j["world-size"] = protocol.size();
  j["total-steps"] = in.plan.total;
  j["warmup-steps"] = in.plan.warmup;
  j["tokenizer"] = nlohmann::ordered_json::parse(in.tokenizer.to_json().dump());
  return j;
}

void Trainer::Impl::build_model() {
  if (model) return;
  place.use();
  // Built and initialised on the CPU (the same weights on any device), then moved.
  model = build_run_model(in, o, place, rank0());
  protocol.agree_initial_weights(parameter_checksum(*model));  // S2: the same seed, the same weights
  seed_dropout(o.seed, protocol.rank());
}

void Trainer::Impl::prepare_training() {
  // A backend named on the command line is used even by a single rank (which then checks it
  // end to end, as the GPU check does with NCCL); auto uses none on one rank.
  std::unique_ptr<comm::GradComm> comm;
  if (protocol.size() > 1 || (o.backend && protocol.mpi() != nullptr)) {
    MTDNN_CHECK(protocol.mpi() != nullptr, "{} ranks without MPI", protocol.size());
    comm = comm::make_grad_comm(place.backend, *protocol.mpi(), o.endpoints,
                                place.exec.cuda() ? place.exec.device.index() : -1);
  }
  worker::DistributedStepOptions so;
  so.grad_accum = o.grad_accum;
  so.grad_clip = o.grad_clip;
  so.optimizer.kind = o.optimizer;
  so.optimizer.beta1 = o.beta1;
  so.optimizer.beta2 = o.beta2;
  so.optimizer.eps = o.eps;
  so.optimizer.weight_decay = o.weight_decay;
  so.optimizer.tensor_ops = !place.exec.device.is_cpu();
  if (place.exec.loss_scaling()) so.loss_scaling = worker::LossScalerOptions{o.loss_scale_init, o.loss_scale_window};
  step = std::make_unique<worker::DistributedStep>(*model, std::move(comm), protocol, place.exec, std::move(so));
  lr = worker::LrSchedule{o.lr_schedule, o.lr, in.plan.warmup, in.plan.total};
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
  const checkpoints::TrainingState loaded = checkpoints::load_checkpoint(path, o.resume != "auto");
  const std::string where = "--resume " + path;
  snapshot->restore(loaded, *model, step->optimizer(), step->loss_scaler(), where);
  protocol.agree_restored_state(path, state_checksum(*model, step->optimizer()));  // S4
  Progress p = Progress::from_json(loaded.meta, where);
  if (rank0()) log_info("resuming from {} at step {} (epoch {}, batch {})", path, p.step, p.epoch, p.position);
  return p;
}

void Trainer::Impl::open_outputs(int64_t resumed_step) {
  // A resumed run keeps the records up to the checkpoint's step (later ones were written by
  // steps that run again).
  if (rank0()) {
    fs::create_directories(fs::path(o.out_dir) / "predictions");
    write_file_atomic((fs::path(o.out_dir) / "config.json").string(), resolved_config().dump(2) + "\n");
  }
  report = std::make_unique<RunReport>(o.out_dir, rank0(), resumed_step, in.plan.total);
  checkpoints::CheckpointWriterOptions wo;
  wo.root = (fs::path(o.out_dir) / "checkpoints").string();
  wo.is_writer = rank0();
  wo.retention.keep_last = o.keep_checkpoints;
  wo.retention.keep_every = o.keep_checkpoint_every;
  wo.program = "mtdnn-train";
  writer = std::make_unique<checkpoints::CheckpointWriter>(wo);
  last_checkpoint = Clock::now();
  checkpointed_step = resumed_step;
  if (rank0() && !o.best_metric.empty()) {
    best.emplace(parse_best_metric(o.best_metric, in.tasks), o.early_stop_patience);
    // A resumed run judges its evaluations against the ones metrics.jsonl kept.
    for (const auto& records : evaluations_in_metrics_log((fs::path(o.out_dir) / "metrics.jsonl").string()))
      best->update(records);
  }
}

void Trainer::Impl::run_epoch(int64_t epoch, const Progress& first, Progress* p, Loop* loop) {
  loop->epoch = epoch;
  // E1-E2: rank 0's seed against the one every rank planned with; schedule hashes compared.
  const schedule::EpochSchedule& plan = in.plan.epochs.at(static_cast<size_t>(epoch));
  const uint64_t seed = protocol.start_epoch(epoch, o.seed);
  if (seed != in.plan.options.seed)
    throw comm::CommError(fmt::format("rank {}: rank 0 starts epoch {} with seed {}, this rank planned it with seed {}",
                                      protocol.rank(), epoch, seed, in.plan.options.seed));
  protocol.verify_schedule(epoch, plan.size(), plan.hash());
  loop->result.schedule_hashes.push_back(plan.hash());
  worker::BatchLoaderOptions lo;
  lo.rank = protocol.rank();
  lo.world = protocol.size();
  lo.prefetch = o.prefetch;
  lo.bucket_window = o.bucket_window;
  lo.first_step = p->position;
  worker::BatchLoader loader(in.train_readers(), in.plan.sizes, in.plan.options, plan, lo);
  const int64_t epoch_size = static_cast<int64_t>(plan.size());
  for (int64_t index = p->position; index < epoch_size; ++index) {
    const int32_t task_index = plan.entries[static_cast<size_t>(index)].task;
    const comm::RoundPlan round = plan_round(*p, epoch, index, task_index, loop->stop_pending || loop->early_stop);  // R1
    if (round.stop) {                                                                          // R2
      loop->stopped = true;
      break;
    }
    std::optional<worker::LocalBatch> batch = loader.next();
    MTDNN_CHECK(batch && batch->step == index, "the loader has no batch for step {} of epoch {}", index, epoch);
    const worker::StepResult r = train_step(*batch, p->step);                                 // R3-R5
    const std::string& task = in.tasks[static_cast<size_t>(task_index)].name;
    p->advance(epoch, index, epoch_size);
    count(r, task, p, loop);
    if (round.log) report->train(p, r, epoch, task, waits(loop->loader_wait_s + loader.stats().wait_seconds));
    report->progress(*p, first, epoch);
    bool new_best = false;
    if (round.eval) {                                                                          // R6
      const auto start = Clock::now();
      std::vector<EvalRecord> records = evaluate(p->step, epoch, false);
      new_best = judge(records, loop);
      for (auto& rec : records) loop->result.evaluations.push_back(std::move(rec));
      report->clock().add_eval(seconds_since(start));
    }
    if (round.checkpoint) checkpoint(*p);                                                      // R7: C1
    if (new_best) publish_best(p->step);
  }
  loop->loader_wait_s += loader.stats().wait_seconds;
}

comm::RoundPlan Trainer::Impl::plan_round(const Progress& p, int64_t epoch, int64_t index, int32_t task,
                                          bool stop_pending) {
  comm::RoundPlan mine;
  mine.step = p.step;
  mine.epoch = epoch;
  mine.index = index;
  mine.task = task;
  if (rank0()) {
    const int64_t next = p.step + 1, total = in.plan.total;
    mine.stop = stop_pending || p.step >= total;
    mine.log = next % o.log_every == 0 || next == total;
    mine.eval = o.eval_every > 0 && next % o.eval_every == 0 && next < total;
    // With --best-metric every evaluated state is checkpointed: best/ takes its files if it wins.
    mine.checkpoint = next < total && ((o.checkpoint_every > 0 && next % o.checkpoint_every == 0) ||
                                       (o.checkpoint_minutes > 0 &&
                                        seconds_since(last_checkpoint) >= 60.0 * o.checkpoint_minutes) ||
                                       (mine.eval && best));
  }
  return protocol.exchange_plan(mine);
}

worker::StepResult Trainer::Impl::train_step(const worker::LocalBatch& batch, int64_t s) {
  const TaskDef& task = in.tasks[static_cast<size_t>(batch.entry.task)];
  const bool stop = stop_requested() || (o.stop_after_step > 0 && s + 1 == o.stop_after_step);
  return step->run(batch, task, lr.at(s), stop);
}

void Trainer::Impl::count(const worker::StepResult& r, const std::string& task, Progress* p, Loop* loop) {
  p->examples += r.stats.examples;
  p->real_tokens += r.stats.real_tokens;
  p->window.add(r.stats.real_tokens, r.loss, r.skipped);
  if (r.stop_signal && !loop->stop_pending) {
    loop->stop_pending = true;
    loop->result.stop_signal = stop_requested() ? stop_signal_name() : "a signal on another rank";
    if (rank0())
      log_info("step {}: stop requested ({}): stopping at this round boundary", p->step, loop->result.stop_signal);
  }
  if (!r.skipped) {
    p->bad_in_row = 0;
    return;
  }
  ++p->skipped_steps;
  if (r.scaler_overflow) {  // fp16's loss scale was too high: the scaler's business, not divergence
    if (rank0())
      log_info("step {} (task {}): gradient overflow at loss scale {:g}, step skipped; loss scale now {:g}", p->step,
               task, r.loss_scale, step->loss_scaler()->scale());
    return;
  }
  ++p->bad_in_row;
  if (rank0())
    log_info("step {} (task {}): NaN/Inf gradient norm or loss, step skipped ({} in a row)", p->step, task,
             p->bad_in_row);
  if (p->bad_in_row >= o.max_bad_steps)
    throw Error(fmt::format("training diverged: {} consecutive steps with NaN/Inf gradients or loss (steps {}..{}, "
                            "--max-bad-steps {}); lower --lr or check the data of task '{}'",
                            p->bad_in_row, p->step - p->bad_in_row + 1, p->step, o.max_bad_steps, task));
}

std::vector<EvalRecord> Trainer::Impl::evaluate(int64_t step, int64_t epoch, bool with_test) {
  return evaluate_run(*model, in, o, protocol, place.exec, *report, step, epoch, with_test);
}

void Trainer::Impl::checkpoint(const Progress& p) {
  if (checkpointed_step == p.step) return;
  // C1: every rank's generator state travels to rank 0, which saves.
  const std::optional<std::string> cuda = snapshot->cuda_generator();
  const auto generators = protocol.gather_generator_states(snapshot->cpu_generator(), cuda ? &*cuda : nullptr);
  checkpointed_step = p.step;
  if (!rank0()) return;
  writer->save(p.step, snapshot->capture(p, *model, step->optimizer(), step->loss_scaler(), generators));
  last_checkpoint = Clock::now();
}

bool Trainer::Impl::judge(const std::vector<EvalRecord>& records, Loop* loop, bool final) {
  if (!best || records.empty()) return false;
  const bool better = best->update(records);
  const std::optional<double> score = best->score(records);
  if (better)
    log_info("step {}: {} {:.2f}, the best so far: kept in {}/best", records.front().step, best->metric().describe(),
             *score, o.out_dir);
  if (!final && best->should_stop() && !loop->early_stop) {
    loop->early_stop = true;
    loop->result.early_stopped = true;
    log_info("step {}: {} has not improved on {:.2f} (step {}) in {} evaluations: early stop", records.front().step,
             best->metric().describe(), best->best(), best->best_step(), best->since_best());
  }
  return better;
}

void Trainer::Impl::publish_best(int64_t step) {
  // The evaluated state is the checkpoint of this step: its files are hard-linked (copied
  // where links are impossible) beside a model folder of the same weights, in a folder
  // renamed into place, so best/ is complete or absent and survives retention.
  writer->wait();
  const fs::path out(o.out_dir), tmp = out / ".best.tmp", old = out / ".best.old", dest = out / "best";
  const fs::path source = out / "checkpoints" / checkpoints::checkpoint_folder_name(step);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  worker::save_model_folder(*model, o.task_def, in.tokenizer, tmp.string());
  fs::copy(source, tmp / "checkpoint", fs::copy_options::recursive | fs::copy_options::create_hard_links, ec);
  if (ec) {
    ec.clear();
    fs::remove_all(tmp / "checkpoint");
    fs::copy(source, tmp / "checkpoint", fs::copy_options::recursive, ec);
  }
  if (ec) throw SystemError(fmt::format("{}: cannot copy {} into best/: {}", o.out_dir, source.string(), ec.message()));
  nlohmann::ordered_json info = {{"metric", best->metric().describe()}, {"score", best->best()}, {"step", step}};
  write_file_atomic((tmp / "best.json").string(), info.dump(2) + "\n");
  fs::remove_all(old, ec);
  if (fs::exists(dest)) fs::rename(dest, old);
  fs::rename(tmp, dest);
  fsync_path(out.string());
  fs::remove_all(old, ec);
}

StepWaits Trainer::Impl::waits(double loader_wait_s) const {
  return StepWaits{loader_wait_s, step->imbalance_wait_s(), step->comm_wait_s()};
}

Trainer::Trainer(TrainOptions options, comm::ControlPlane& plane)
    : impl_(std::make_unique<Impl>(std::move(options), plane)) {}

Trainer::~Trainer() = default;

int64_t Trainer::total_steps() const { return impl_->in.plan.total; }
int64_t Trainer::warmup_steps() const { return impl_->in.plan.warmup; }
std::string Trainer::resolved_config_json() const { return impl_->resolved_config().dump(2); }
std::string Trainer::schedule_summary() const {
  return dry_run_summary(impl_->in, impl_->o, impl_->protocol.size());
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
  double parameters = 0;
  for (const auto& named : m.step->optimizer().params()) parameters += static_cast<double>(named.param.numel());
  m.report->start(m.in, m.protocol.rank(), m.protocol.size(), m.place, parameters, m.step->optimizer().params().size());
  Loop loop;
  loop.epoch = p.epoch;
  for (int64_t epoch = p.epoch; epoch < m.o.epochs && p.step < m.in.plan.total && !loop.stopped; ++epoch)
    m.run_epoch(epoch, first, &p, &loop);
  TrainResult& result = loop.result;
  if (p.step >= m.in.plan.total) result.stop_signal.clear();  // a signal during the last step: training is complete
  m.checkpoint(p);                                            // F1
  m.writer->wait();
  result.steps = p.step;
  result.skipped_steps = p.skipped_steps;
  result.examples = p.examples;
  result.real_tokens = p.real_tokens;
  result.seconds = m.report->clock().train_s();
  const StepWaits waits = m.waits(loop.loader_wait_s);
  result.loader_wait_s = waits.loader_s;
  result.imbalance_wait_s = waits.imbalance_s;
  result.comm_wait_s = waits.comm_s;
  if (result.stop_signal.empty()) {                           // F2
    std::vector<EvalRecord> records = m.evaluate(p.step, loop.epoch, true);
    if (m.judge(records, &loop, /*final=*/true)) m.publish_best(p.step);  // its checkpoint is F1's
    for (auto& rec : records) result.evaluations.push_back(std::move(rec));
  }
  if (m.rank0()) {                                            // F3
    const std::string model_dir = (fs::path(m.o.out_dir) / "model").string();
    worker::save_model_folder(*m.model, m.o.task_def, m.in.tokenizer, model_dir);
    m.report->summary(p, first, result.seconds, waits, model_dir);
  }
  m.protocol.finish();
  return result;
}

}  // namespace mtdnn::orchestrator
