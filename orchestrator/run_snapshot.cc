// meta.json both ways and the generators' states (see run_snapshot.h).
#include "orchestrator/run_snapshot.h"

#include <torch/torch.h>
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include <cstring>

#include "checkpoints/checkpoint_reader.h"
#include "checkpoints/model_state.h"
#include "common/error.h"
#include "common/log.h"
#include "orchestrator/generator_state.h"
#include "worker/model_folder.h"

namespace mtdnn::orchestrator {

namespace {

torch::Tensor bytes_tensor(const std::string& s) {
  torch::Tensor t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}

}  // namespace

RunSnapshot::RunSnapshot(const RunInputs& in, const TrainOptions& o, nlohmann::json config, int rank, int world,
                         const worker::ExecutionOptions& exec)
    : in_(in), o_(o), config_(std::move(config)), rank_(rank), world_(world), exec_(exec) {}

nlohmann::json RunSnapshot::meta(const Progress& p) const {
  nlohmann::json meta = p.to_json();
  meta["lr_schedule"] = {{"kind", worker::to_string(o_.lr_schedule)}, {"lr", o_.lr},
                         {"warmup_steps", in_.plan.warmup}, {"total_steps", in_.plan.total}, {"next_step", p.step}};
  meta["config"] = config_;
  nlohmann::json task_defs = nlohmann::json::array();
  for (const auto& t : in_.tasks) task_defs.push_back(t.to_json());
  meta["tasks"] = task_defs;
  meta["tokenizer"] = in_.tokenizer.to_json();
  meta["world_size"] = world_;
  meta["model"] = checkpoints::model_meta(worker::model_options_of(in_.bert, in_.tasks, o_.dropout));
  return meta;
}

void RunSnapshot::check_compatible(const nlohmann::json& meta, const std::string& where) const {
  std::vector<std::string> want, have;
  for (const auto& t : in_.tasks) want.push_back(t.name);
  for (const auto& t : meta.value("tasks", nlohmann::json::array())) have.push_back(t.value("name", "?"));
  MTDNN_INPUT_CHECK(want == have, "{}: the checkpoint trained tasks [{}], this run trains [{}]", where,
                    fmt::join(have, ","), fmt::join(want, ","));
  for (size_t i = 0; i < in_.tasks.size(); ++i)
    MTDNN_INPUT_CHECK(meta["tasks"][i] == in_.tasks[i].to_json(),
                      "{}: task '{}' has another definition in the checkpoint: {} (this run: {})", where,
                      in_.tasks[i].name, meta["tasks"][i].dump(), in_.tasks[i].to_json().dump());
  MTDNN_INPUT_CHECK(meta.value("tokenizer", nlohmann::json()) == in_.tokenizer.to_json(),
                    "{}: the checkpoint's tokenizer {} differs from the shards' tokenizer {}", where,
                    meta.value("tokenizer", nlohmann::json()).dump(), in_.tokenizer.to_json().dump());
  const auto& ls = meta.at("lr_schedule");
  const int64_t total = in_.plan.total, warmup = in_.plan.warmup;
  MTDNN_INPUT_CHECK(ls.value("total_steps", int64_t{-1}) == total && ls.value("warmup_steps", int64_t{-1}) == warmup,
                    "{}: the checkpoint's run has {} steps ({} warm-up), this one {} ({} warm-up): the schedule "
                    "options differ", where, ls.value("total_steps", int64_t{-1}), ls.value("warmup_steps", int64_t{-1}),
                    total, warmup);
}

std::string RunSnapshot::cpu_generator() const { return cpu_generator_state(); }

std::optional<std::string> RunSnapshot::cuda_generator() const {
  if (!exec_.cuda()) return std::nullopt;
  return cuda_generator_state(exec_.device.index());
}

checkpoints::TrainingState RunSnapshot::capture(const Progress& p, const worker::MtdnnModelImpl& model,
                                                const worker::Optimizer& optimizer, const worker::LossScaler* scaler,
                                                const comm::RoundProtocol::GeneratorStates& generators) const {
  checkpoints::TrainingState state;
  state.tensors = checkpoints::module_tensors(model, checkpoints::kModelPrefix);
  for (const auto& [name, t] : optimizer.state_tensors()) state.tensors[checkpoints::kOptimizerPrefix + name] = t;
  for (size_t r = 0; r < generators.cpu.size(); ++r)
    state.tensors[generator_key(static_cast<int>(r))] = bytes_tensor(generators.cpu[r]);
  for (size_t r = 0; r < generators.cuda.size(); ++r)
    state.tensors[cuda_generator_key(static_cast<int>(r))] = bytes_tensor(generators.cuda[r]);
  state.meta = meta(p);
  if (scaler) state.meta["loss_scaler"] = scaler->to_json();
  return state;
}

void RunSnapshot::restore(const checkpoints::TrainingState& loaded, worker::MtdnnModelImpl& model,
                          worker::Optimizer& optimizer, worker::LossScaler* scaler,
                          const std::string& where) const {
  check_compatible(loaded.meta, where);
  checkpoints::restore_tensors_strict(loaded, checkpoints::module_tensors(model, checkpoints::kModelPrefix),
                                      checkpoints::kModelPrefix, where);
  optimizer.load_state_tensors([&](std::map<std::string, torch::Tensor>& targets) {
    std::map<std::string, torch::Tensor> prefixed;
    for (auto& [name, t] : targets) prefixed[checkpoints::kOptimizerPrefix + name] = t;
    checkpoints::restore_tensors_strict(loaded, prefixed, checkpoints::kOptimizerPrefix, where);
  });
  if (scaler && loaded.meta.contains("loss_scaler")) {
    scaler->restore(loaded.meta["loss_scaler"], where);
  } else if (scaler && rank_ == 0) {
    log_info("{}: written without fp16 loss scaling; the loss scale starts at {:g}", where, scaler->scale());
  }
  restore_generators(loaded, where);
}

void RunSnapshot::restore_generators(const checkpoints::TrainingState& loaded, const std::string& where) const {
  // Dropout's generator: this rank's stream when the world size is the same; otherwise a
  // fresh stream per rank, keyed by the step (the result then matches to float rounding).
  const nlohmann::json& meta = loaded.meta;
  const std::string key = generator_key(rank_);
  if (meta.value("world_size", 0) != world_ || !loaded.tensors.count(key)) {
    seed_dropout_after_resume(o_.seed, meta.at("step").get<int64_t>(), rank_);
    if (rank_ == 0)
      log_info("{}: written by {} rank(s), resumed on {}: dropout draws a new stream", where,
               meta.value("world_size", 0), world_);
    return;
  }
  set_cpu_generator_state(loaded.tensors.at(key));
  // On a GPU, dropout draws from the device's generator: its state when the checkpoint was
  // written on a GPU, else (written on the CPU) a fresh stream keyed by the step.
  if (!exec_.cuda()) return;
  const std::string cuda_key = cuda_generator_key(rank_);
  if (loaded.tensors.count(cuda_key))
    set_cuda_generator_state(exec_.device.index(), loaded.tensors.at(cuda_key));
  else
    seed_cuda_dropout_after_resume(exec_.device.index(), o_.seed, meta.at("step").get<int64_t>(), rank_);
}

}  // namespace mtdnn::orchestrator
