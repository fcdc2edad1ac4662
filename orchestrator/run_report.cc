// The run's records and console lines (see run_report.h).
#include "orchestrator/run_report.h"

#include <cmath>
#include <filesystem>

#include "common/log.h"
#include "worker/cpu_runtime.h"

namespace fs = std::filesystem;

namespace mtdnn::orchestrator {

void RunClock::new_window() {
  window_start = Clock::now();
  window_eval_s = 0;
}

void RunClock::add_eval(double s) {
  eval_s += s;
  window_eval_s += s;
}

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

double eta_seconds(int64_t step, int64_t first_step, int64_t total, double train_s) {
  if (step <= first_step || train_s <= 0) return NAN;
  return static_cast<double>(total - step) * train_s / static_cast<double>(step - first_step);
}

nlohmann::ordered_json train_record(const Progress& p, const worker::StepResult& r, int64_t epoch,
                                    const std::string& task, const RunClock& clock, const StepWaits& waits,
                                    double eta_s) {
  nlohmann::ordered_json j;
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
  j["steps_per_s"] = static_cast<double>(p.window.steps) / clock.window_s();
  j["tokens_per_s"] = p.window.tokens / clock.window_s();
  j["skipped_steps"] = p.skipped_steps;
  if (std::isfinite(r.loss_scale)) j["loss_scale"] = r.loss_scale;  // fp16: the scale this step used
  j["loader_wait_s"] = waits.loader_s;
  j["imbalance_wait_s"] = waits.imbalance_s;
  j["comm_wait_s"] = waits.comm_s;
  j["eta_s"] = metric_json(eta_s);
  return j;
}

std::string train_line(const Progress& p, const worker::StepResult& r, int64_t epoch, const std::string& task,
                       int64_t total, const RunClock& clock, double eta_s) {
  // fp16: the loss scale and the steps its overflows skipped so far.
  const std::string scaling =
      std::isfinite(r.loss_scale) ? fmt::format(" scale {:g} ({} skipped)", r.loss_scale, p.skipped_steps) : "";
  return fmt::format("step {}/{} epoch {} {} loss {:.4f} (avg {:.4f}) lr {:.2e}{} | {:.2f} steps/s {} tok/s | ETA {}",
                     p.step, total, epoch, task, r.loss, p.window.loss_avg(), r.lr, scaling,
                     static_cast<double>(p.window.steps) / clock.window_s(),
                     format_count(p.window.tokens / clock.window_s()), format_duration(eta_s));
}

nlohmann::ordered_json eval_record(const EvalRecord& rec, int64_t epoch, size_t examples, double seconds) {
  nlohmann::ordered_json j;
  j["type"] = "eval";
  j["step"] = rec.step;
  j["epoch"] = epoch;
  j["task"] = rec.task;
  j["split"] = rec.split;
  j["examples"] = examples;
  for (const auto& [name, value] : rec.metrics) j[name] = metric_json(value);
  j["seconds"] = seconds;
  return j;
}

std::string eval_line(const EvalRecord& rec) {
  std::string line;
  for (const auto& [name, value] : rec.metrics) line += fmt::format(" {} {:.2f}", name, value);
  return fmt::format("step {}: {}/{}{}", rec.step, rec.task, rec.split, line);
}

RunReport::RunReport(const std::string& out_dir, bool writer, int64_t resumed_step, int64_t total_steps)
    : writer_(writer),
      total_(total_steps),
      first_step_(std::max<int64_t>(0, resumed_step)),
      metrics_((fs::path(out_dir) / "metrics.jsonl").string(), writer, resumed_step) {}

void RunReport::start(const RunInputs& in, int rank, int world, const RankPlacement& pl, double parameters,
                      size_t tensors) const {
  // Every rank says where it runs (its node and node-local rank decide its GPU and threads).
  log_info("{}", pl.describe(rank, world));
  if (const std::string w = worker::thread_binding_warning(pl.threads, pl.usable_cores, pl.node_share); !w.empty())
    log_info("rank {}: {}", rank, w);
  if (!writer_) return;
  log_info("training {} on {} rank(s) x {} thread(s) (rank 0 may use {} core(s); {}, backend {}): {} steps ({} "
           "warm-up), {} parameters ({} tensors)", in.task_names(), world, pl.threads, pl.usable_cores,
           pl.exec.describe(), comm::to_string(pl.backend), in.plan.total, in.plan.warmup, format_count(parameters),
           tensors);
  if (!pl.cpu_runtime.empty()) log_info("CPU runtime: {}", pl.cpu_runtime);
  for (const auto& s : in.not_preprocessed) log_info("{}: not preprocessed, not evaluated", s);
}

void RunReport::train(Progress* p, const worker::StepResult& r, int64_t epoch, const std::string& task,
                      const StepWaits& waits) {
  // The ETA from this run's rate so far (evaluations left out): a plain line in every log,
  // terminal or not, so that batch jobs' logs have it too.
  const double eta_s = eta_seconds(p->step, first_step_, total_, clock_.train_s());
  metrics_.write(train_record(*p, r, epoch, task, clock_, waits, eta_s));
  if (writer_) log_info("{}", train_line(*p, r, epoch, task, total_, clock_, eta_s));
  p->window = LogWindowSums{};
  clock_.new_window();
}

void RunReport::progress(const Progress& p, const Progress& first, int64_t epoch) {
  if (!writer_ || !log_is_terminal() || seconds_since(clock_.last_progress) <= 0.25) return;
  clock_.last_progress = Clock::now();
  const double rate = std::max(1e-9, static_cast<double>(p.step - first.step) / clock_.train_s());
  log_progress(fmt::format("step {}/{} epoch {} | {:.2f} steps/s | {} tok/s | ETA {}", p.step, total_, epoch, rate,
                           format_count((p.real_tokens - first.real_tokens) / clock_.train_s()),
                           format_duration(static_cast<double>(total_ - p.step) / rate)));
}

void RunReport::eval(const EvalRecord& rec, int64_t epoch, size_t examples, double seconds) {
  metrics_.write(eval_record(rec, epoch, examples, seconds));
  if (writer_) log_info("{}", eval_line(rec));
}

void RunReport::summary(const Progress& last, const Progress& first, double seconds, const StepWaits& waits,
                        const std::string& model_dir) const {
  if (!writer_) return;
  const double train_s = std::max(1e-9, seconds);
  const double steps = static_cast<double>(last.step - first.step);
  log_info("{}{} steps in {} ({:.2f} steps/s, {} real tokens/s), {} skipped; model in {}",
           first.step > 0 ? fmt::format("resumed at step {}: ", first.step) : "", last.step - first.step,
           format_duration(seconds), steps / train_s, format_count((last.real_tokens - first.real_tokens) / train_s),
           last.skipped_steps, model_dir);
  log_info("of that time rank 0 waited {:.1f}% for batches, {:.1f}% for slower ranks to finish backward (load "
           "imbalance) and {:.1f}% for gradient all-reduces not hidden by backward", 100 * waits.loader_s / train_s,
           100 * waits.imbalance_s / train_s, 100 * waits.comm_s / train_s);
}

}  // namespace mtdnn::orchestrator
