// One distributed optimizer step (see distributed_step.h): micro-batches, loss scaling,
// the reducer's calls, the gradient norm and R4-R5.
#include "worker/distributed_step.h"

#include <torch/torch.h>

#include "common/clock.h"
#include "worker/batch_tensors.h"

namespace mtdnn::worker {

double loss_scale(double local, double global, int world) {
  return global > 0 ? local * static_cast<double>(world) / global : 0.0;
}

namespace {

// How each head of a step's task scales its loss (loss_scale): by items, or, for a head
// whose loss is a mean over targets, by targets, whose global count R3 sums over ranks.
class HeadScales {
 public:
  HeadScales(const std::vector<task_kinds::HeadUse>& uses, const LocalBatch& batch, comm::RoundProtocol& protocol)
      : per_target_(uses.size(), false), global_targets_(uses.size(), 0.0), world_(protocol.size()) {
    bool any = false;
    for (size_t h = 0; h < uses.size(); ++h) {
      per_target_[h] = uses[h].loss_per_target;
      any = any || per_target_[h];
      if (per_target_[h] && h < batch.targets.size())
        for (int64_t v : batch.targets[h].ints) global_targets_[h] += v != task_kinds::kNoTarget;
    }
    if (any) global_targets_ = protocol.sum_target_counts(std::move(global_targets_));  // R3, every rank
  }
  // The scaled sum of the heads' losses for one micro-batch of `items` out of the global
  // batch's `global_items` (`empty`: a placeholder row, scale 0).
  torch::Tensor loss(const std::vector<HeadOutput>& outs, const ModelInput& in, double items, double global_items,
                     bool empty) const {
    const double item_scale = empty ? 0.0 : loss_scale(items, global_items, world_);
    torch::Tensor total;
    for (size_t h = 0; h < outs.size(); ++h) {
      double w = item_scale;
      if (per_target_[h]) {
        const double targets = empty ? 0.0 : (in.labels.at(h) != task_kinds::kNoTarget).sum().item<double>();
        w = loss_scale(targets, global_targets_[h], world_);
      }
      const torch::Tensor term = outs[h].loss * w;
      total = total.defined() ? total + term : term;
    }
    return total;
  }

 private:
  std::vector<bool> per_target_;
  std::vector<double> global_targets_;
  int world_;
};

std::vector<ParamGroup> param_groups(const MtdnnModelImpl& model) {
  std::vector<ParamGroup> groups;
  groups.push_back({"encoder", model.bert->parameters()});
  for (const auto& task : model.tasks()) {
    std::vector<torch::Tensor> params;  // every head of the task (MaskLM: mlm and nsp)
    for (const TaskHeadImpl* head : model.heads_of(task))
      for (const auto& p : head->parameters()) params.push_back(p);
    groups.push_back({"heads." + task, params});
  }
  return groups;
}

}  // namespace

DistributedStep::DistributedStep(MtdnnModelImpl& model, std::unique_ptr<comm::GradComm> comm,
                                 comm::RoundProtocol& protocol, const ExecutionOptions& exec,
                                 DistributedStepOptions options)
    : model_(model), comm_(std::move(comm)), protocol_(protocol), exec_(exec), options_(std::move(options)) {
  // The word embeddings are reduced row-sparse on the steps of tasks whose heads do not tie
  // an output layer to them (run() asks the model).
  reducer_ = std::make_unique<GradReducer>(param_groups(model_), comm_.get(), protocol_.size(),
                                           model_.bert->embeddings->word_embeddings->weight);
  std::vector<NamedParameter> named;
  for (const auto& item : model_.named_parameters())
    if (item.value().requires_grad()) named.push_back({item.key(), item.value()});
  optimizer_ = std::make_unique<Optimizer>(std::move(named), options_.optimizer);
  if (options_.loss_scaling) scaler_.emplace(*options_.loss_scaling);
}

DistributedStep::~DistributedStep() = default;

double DistributedStep::comm_wait_s() const {
  return std::max(0.0, reducer_->stats().exposed_wait_s - imbalance_wait_s_);
}

double DistributedStep::gradient_norm() const {
  const std::optional<double> reduced = reducer_->grad_norm();
  return reduced ? *reduced : optimizer_->grad_norm();
}

StepResult DistributedStep::run(const LocalBatch& batch, const TaskDef& task, double lr, bool stop_signal) {
  const schedule::ScheduleEntry& entry = batch.entry;
  const std::vector<std::string> active = {"encoder", "heads." + task.name};
  const double global_items = static_cast<double>(entry.end - entry.begin);
  const double world = protocol_.size();
  const task_kinds::TaskKind& kind = task_kinds::kind_of(task);
  const auto ranges = split_micro_batches(batch, kind, options_.grad_accum);
  // A head tied to the word embeddings touches every row: the step reduces them whole.
  const bool row_sparse = !model_.ties_word_embeddings(task.name);
  // fp16: the backward pass sees the loss x scale; the gradients are divided by it below.
  const double scale = scaler_ ? scaler_->scale() : 1.0;
  comm::RoundStats mine;
  const auto step_start = Clock::now();
  // R3: forward/backward of each micro-batch; gradients reduced on the last one.
  const HeadScales heads(kind.heads(task), batch, protocol_);
  for (size_t m = 0; m < ranges.size(); ++m) {
    const RowRange& r = ranges[m];
    const bool last = m + 1 == ranges.size();
    if (r.rows() == 0 && !last) continue;
    reducer_->prepare(active, last);
    const bool empty = r.rows() == 0;  // an empty slice: zero gradients, the same collectives
    const ModelInput in = to_device(empty ? placeholder_input(kind, task) : model_input(batch, r, kind, true), exec_);
    const double items = static_cast<double>(range_items(r, kind));
    const torch::Tensor loss = heads.loss(model_.forward_heads(task.name, in), in, items, global_items, empty);
    if (row_sparse) reducer_->note_rows(in.input_ids);
    (loss * (entry.loss_weight * scale)).backward();
    if (last) mine.compute_s = seconds_since(step_start);  // what follows waits for the other ranks
    reducer_->finish();
    if (!empty) {
      mine.loss_sum += loss.item<double>() * global_items / world;  // mean loss x items
      mine.items += items;
      mine.examples += static_cast<double>(r.rows());
      mine.real_tokens += static_cast<double>(real_tokens(batch, r));
    }
  }
  // R4: the reduced gradients are the same on every rank; so is their norm, taken as the
  // maximum over ranks to rule out any rounding difference. Unscaling by a power of two is
  // exact, and leaves an overflow infinite.
  const double local_norm = gradient_norm() / scale;
  mine.nonfinite = std::isfinite(local_norm) && std::isfinite(mine.loss_sum) ? 0 : 1;
  mine.stop_signal = stop_signal ? 1 : 0;
  mine.grad_norm = std::isfinite(local_norm) ? local_norm : 0.0;
  StepResult s;
  s.stats = protocol_.reduce_stats(mine);
  imbalance_wait_s_ += s.stats.compute_s - mine.compute_s;
  s.loss = s.stats.items > 0 ? s.stats.loss_sum / s.stats.items : NAN;
  s.skipped = s.stats.nonfinite > 0;
  s.stop_signal = s.stats.stop_signal > 0;
  s.lr = lr;
  s.grad_norm = s.skipped ? NAN : s.stats.grad_norm;
  if (scaler_) {
    s.loss_scale = scale;
    s.scaler_overflow = s.skipped && scaler_->can_back_off();
    scaler_->update(s.skipped);  // the same decision on every rank: the scale stays agreed
  }
  // R5: skip a NaN/Inf step, else clip and update (dividing the scaled gradients by the scale
  // in the same multiplication as the clipping factor).
  if (!s.skipped) optimizer_->step(lr, clip_coefficient(s.stats.grad_norm, options_.grad_clip) / scale);
  optimizer_->zero_grad();
  return s;
}

}  // namespace mtdnn::worker
