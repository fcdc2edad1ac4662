// mtdnn-train's configuration: one plain struct with the defaults (mt-dnn's paper settings
// where it has them). Each option is declared once, in the option table of
// train_options.cc (flag, field, help, check); from that table come the command line and
// the INI keys (--config; every flag is also a key, the command line wins), validation
// with errors that name the key, and the resolved-config JSON (config.json). Named choices
// (optimizer, schedule, backend) are parsed once, into their enums. Used by
// train_main.cc, the trainer and the tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comm/grad_comm.h"
#include "worker/execution.h"
#include "worker/optimizer.h"

namespace mtdnn::orchestrator {

struct TrainOptions {
  // Data and model.
  std::string data_dir;                 // --data: mtdnn-preprocess's --out
  std::string task_def;                 // --task-def: mt-dnn task_def.yml
  std::vector<std::string> tasks;       // --tasks a,b,c (empty: every task of --task-def); task 0 is mt-dnn's main task
  std::string bert_config;              // --bert-config: config.json of a fresh model
  std::string init_checkpoint;          // --init-checkpoint: Hugging Face model.safetensors + config.json
  bool init_heads = false;              // --init-heads: also the heads of tasks the checkpoint has
  int64_t max_seq_len = 512;            // longest example, [CLS]/[SEP] included; shards must not exceed it

  // Schedule.
  int64_t batch_size = 32;              // global: examples (groups for ranking tasks) per step, all ranks together
  int64_t epochs = 5;
  int64_t max_steps = 0;                // > 0: stop after this many optimizer steps
  int mix_opt = 0;                      // mt-dnn's sampler options (schedule/schedule.h)
  double ratio = 0.0;
  double temperature = 0.0;
  int64_t bucket_window = 0;            // > 0: length bucketing over this many batches
  uint64_t seed = 2018;

  // Optimisation.
  worker::OptimizerKind optimizer = worker::OptimizerKind::kAdamax;  // adamw | adamax
  double lr = 5e-5;
  double warmup = 0.1;                  // fraction of the total steps
  worker::LrScheduleKind lr_schedule = worker::LrScheduleKind::kLinear;  // linear (warm-up, then decay to 0) | constant
  double weight_decay = 0.01;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-6;
  double grad_clip = 1.0;               // global L2 norm; <= 0: no clipping
  int64_t grad_accum = 1;               // micro-batches per optimizer step
  int64_t batches_per_step = 1;         // mt-dnn's --grad_accumulation_step; folded into the two above
  std::optional<double> dropout;        // overrides every dropout (encoder, heads, SAN steps)
  int64_t max_bad_steps = 10;           // abort after this many NaN/Inf steps in a row
  double comm_timeout = 600;            // seconds any collective may wait (0: forever); then exit 86

  // Execution.
  std::optional<comm::CommBackend> backend;  // gradient all-reduce: mpi | gloo | nccl; unset (auto): nccl on GPU, else mpi
  worker::DeviceKind device = worker::DeviceKind::kAuto;  // auto | cpu | cuda (each rank the GPU of its node-local rank)
  worker::Precision precision = worker::Precision::kFp32;  // fp32 | bf16 | fp16 (autocast for the encoder's matrix products)
  double loss_scale_init = 65536;       // fp16: the dynamic loss scale's start, a power of two
  int64_t loss_scale_window = 2000;     // fp16: clean steps before the loss scale doubles
  comm::CommEndpoints endpoints;        // from the environment (train_main.cc), not flags
  int threads = 0;                      // intra-op threads per rank; 0: usable cores, at most cores / ranks on this node
  int prefetch = 2;                     // batches loaded ahead

  // Output.
  std::string out_dir;                  // --out
  int64_t log_every = 50;               // steps between training records
  int64_t eval_every = 0;               // steps between dev evaluations; 0: only at the end
  int64_t eval_batch_size = 64;         // examples per evaluation batch (each rank)
  bool dry_run = false;

  // Checkpoints (<out>/checkpoints/) and resume.
  int64_t checkpoint_every = 0;         // steps between checkpoints; 0: only at the end and on a stop request
  double checkpoint_minutes = 0;        // > 0: also every this many minutes (rank 0's clock)
  int keep_checkpoints = 3;             // retention: the newest K (0 keeps all)
  int64_t keep_checkpoint_every = 0;    // retention: also every step that is a multiple of M (0: none)
  std::string resume = "auto";          // auto | never | PATH of a ckpt-<step> folder
  // The best evaluation (<out>/best/) and early stopping (orchestrator/best_tracker.h).
  std::string best_metric;              // TASK:METRIC or mean; empty: off
  int64_t early_stop_patience = 0;      // > 0: stop after this many evaluations without improvement
  // Tests only (no flag, not in the resolved config): act as if a stop signal arrived
  // during this step (1-based); 0: never.
  int64_t stop_after_step = 0;
};

// The command line (and --config file) parsed into options, or the help text.
struct ParsedCommandLine {
  bool help = false;
  std::string help_text;
  TrainOptions options;
};

// Parses argv (Boost.Program_options). Throws InputError naming the flag or INI key on
// unknown keys and malformed values, then validates.
ParsedCommandLine parse_train_command_line(int argc, const char* const* argv);

// Throws InputError naming the key ("--batch-size must be >= 1, got 0") for a bad value.
void validate(const TrainOptions& options);

// The resolved configuration as JSON, keys named like the flags, in declaration order.
nlohmann::ordered_json to_json(const TrainOptions& options);

// --backend's value: a backend, or "auto" (unset).
std::optional<comm::CommBackend> parse_backend_choice(const std::string& name);
const char* backend_choice_name(std::optional<comm::CommBackend> backend);
// The backend a run uses: the one given, else NCCL on GPU and MPI on CPU.
comm::CommBackend resolve_backend(std::optional<comm::CommBackend> backend, const worker::ExecutionOptions& exec);

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& text);

}  // namespace mtdnn::orchestrator
