// The --dry-run summary and memory estimate (see dry_run.h).
#include "orchestrator/dry_run.h"

#include <cmath>

#include "worker/bert_encoder.h"
#include "worker/head_registry.h"
#include "worker/model_folder.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::orchestrator {

namespace {

std::string format_mib(double bytes) { return fmt::format("{:.0f} MiB", bytes / (1 << 20)); }

}  // namespace

// The encoder's parameter count from the encoder itself, the heads built (they are small),
// and the activations backward keeps for a local batch at the maximum length. Activations
// are a rough upper bound (per layer: about 8 H + 2 I floats per token, plus the attention
// probabilities and their dropout mask); real batches are shorter.
std::string memory_estimate(const RunInputs& in, const TrainOptions& o, int world) {
  const worker::BertConfig& c = in.bert;
  double params = static_cast<double>(worker::bert_parameter_count(c));
  const auto registry = worker::builtin_head_registry();
  for (const auto& t : in.tasks)
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

std::string dry_run_summary(const RunInputs& in, const TrainOptions& o, int world) {
  const SchedulePlan& plan = in.plan;
  std::string out = fmt::format("{:<12} {:>10} {:>14}", "task", "examples", "type");
  for (size_t e = 0; e < plan.epochs.size(); ++e) out += fmt::format(" {:>9}", fmt::format("epoch {}", e));
  out += "\n";
  std::vector<std::vector<int64_t>> batches;
  for (size_t e = 0; e < plan.epochs.size(); ++e) batches.push_back(plan.batches_per_task(e));
  for (size_t t = 0; t < in.tasks.size(); ++t) {
    out += fmt::format("{:<12} {:>10} {:>14}", in.tasks[t].name, plan.sizes[t].examples, in.tasks[t].task_type);
    for (const auto& per_task : batches) out += fmt::format(" {:>9}", per_task[t]);
    out += "\n";
  }
  out += fmt::format("{:<12} {:>10} {:>14}", "steps", "", "");
  for (const auto& epoch : plan.epochs) out += fmt::format(" {:>9}", epoch.size());
  out += "\n";
  out += fmt::format("global batch {} ({} per rank on {} ranks, {} micro-batches per step)\n", o.batch_size,
                     o.batch_size / world, world, o.grad_accum);
  out += fmt::format("total steps {}{}, warm-up steps {} ({} schedule, peak lr {})\n", plan.total,
                     o.max_steps > 0 ? fmt::format(" (--max-steps {})", o.max_steps) : "", plan.warmup,
                     worker::to_string(o.lr_schedule), o.lr);
  for (const auto& e : in.evals)
    out += fmt::format("evaluate {}/{}: {} examples{}\n", in.tasks[e.task].name, e.split, e.reader->size(),
                       e.labelled ? "" : " (predictions only)");
  for (const auto& s : in.not_preprocessed) out += fmt::format("not preprocessed, not evaluated: {}\n", s);
  out += memory_estimate(in, o, world);
  return out;
}

}  // namespace mtdnn::orchestrator
