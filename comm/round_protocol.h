// The round protocol of mtdnn-train: what the ranks exchange, in which order, so that they
// run the same steps on the same data and only rank 0 decides. Gradients travel on the data
// plane (worker/grad_reducer.h over comm/grad_comm.h); everything here is the small control
// plane (comm/control_plane.h), which only RoundProtocol below talks to: one method per step,
// each naming its step to the plane first. kStepCollectives lists the collectives of each
// step; a test records a multi-task run's calls on every rank and holds them against it.
// The trainer (orchestrator/) and the distributed step (worker/distributed_step.h) call
// the methods where the steps run.
//
// Start of the job
//   S1. Each rank parses its own command line. Rank 0's resolved configuration (JSON) is
//       checked against every rank's: "ranks disagree on resolved config: rank 0 has ...,
//       rank 2 has ..." names both values.
//       The device kind and precision every rank resolved are checked the same way (S1 too).
//   S2. Each rank builds the model from the seed; the checksum of the initial weights
//       (orchestrator/checksums.h: FNV-1a's constants applied word-wise to every
//       parameter's float words) is checked the same way.
// Resume (only when a checkpoint is resumed)
//   S3. Rank 0 chooses the checkpoint (--resume auto: the newest valid one) and broadcasts
//       its path; every rank reads it and restores weights, optimizer state and its
//       generator.
//   S4. Every rank checks the checksum of the restored state (weights and optimizer state)
//       against rank 0's: a rank that read another checkpoint (another file system, another
//       working directory) stops every rank with "ranks disagree on restored state checksum
//       (checkpoint ...): rank 0 has '0x...'; rank 1 has '0x...'".
// Each epoch
//   E1. Rank 0 broadcasts an EpochMessage {version, epoch, seed}; every rank checks the
//       epoch is the one it expects and builds the epoch schedule from the seed.
//   E2. Every rank's schedule hash is checked against rank 0's ("epoch 3 schedule hash").
// Each round (one optimizer step on one global batch of one task)
//   R1. Rank 0 broadcasts a RoundPlan {version, step, epoch, index, task, log, eval,
//       checkpoint, stop}. Every rank checks step, epoch, index and task against its own
//       schedule position and throws CommError with both values when they differ.
//   R2. plan.stop: every rank leaves the loop (rank 0 decided: --max-steps reached or a
//       stop signal seen by some rank in R4 of the previous round).
//   R3. Every rank runs forward/backward on its slice of the batch; the gradient reducer
//       all-reduces the gradients of the encoder and the task's heads (data plane). For a
//       task with a head whose loss is a mean over targets (the masked LM), the ranks first
//       sum their target counts (one all-reduce) and weight their share by count, so the
//       gradient is the global batch's on any world size or accumulation.
//   R4. RoundStats are reduced over ranks in one all-reduce of a named, versioned record
//       (kRoundStatsFields): loss x items, items, examples and real tokens summed;
//       non-finite flag, stop-signal flag, gradient norm and the seconds each rank
//       took to finish backward by maximum (a rank waits the difference to the slowest
//       rank whatever the network: load imbalance, reported apart from communication); the protocol
//       version by maximum and minimum, so that a rank on another version stops every rank
//       with an error naming the lowest and highest version.
//       Every rank thus makes the same skip decision for a NaN/Inf step, clips with the
//       same norm and knows the global mean loss.
//   R5. Every rank clips and applies the optimizer step (unless skipped); rank 0 writes the
//       training record when plan.log.
//   R6. plan.eval: every rank predicts its share of each dev split; predictions are
//       gathered (allgather) and rank 0 computes the metrics and writes the files.
//   R7. plan.checkpoint: C1 below.
// Checkpoint (after R7, at the end and at a stop)
//   C1. Every rank's generator state is gathered to rank 0 (allgather); rank 0 hands the
//       full state to the background writer, which commits it complete-or-nothing.
// End
//   F1. C1 for the last step, then the writer is drained.
//   F2. Unless a stop signal cut training short: the final evaluation (R6 on dev and test).
//   F3. Rank 0 writes the model folder; barrier (finish).
// Messages carry kRoundProtocolVersion; a rank that receives another version stops with
// an error naming both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/comm_error.h"
#include "comm/control_plane.h"

namespace mtdnn::comm {

// 2: RoundStats carry compute_s (load imbalance apart from communication).
// 3: R3 sums the target counts of heads whose loss is a mean over targets.
inline constexpr uint32_t kRoundProtocolVersion = 3;

struct EpochMessage {
  uint32_t version = kRoundProtocolVersion;
  int64_t epoch = 0;
  uint64_t seed = 0;
};

struct RoundPlan {
  uint32_t version = kRoundProtocolVersion;
  int64_t step = 0;   // global optimizer step, 0-based
  int64_t epoch = 0;
  int64_t index = 0;  // entry of the epoch schedule
  int32_t task = 0;   // the entry's task
  bool log = false, eval = false, stop = false;
  bool checkpoint = false;  // after this step (--checkpoint-every/--checkpoint-minutes)
};

// Reduced over ranks in R4; how each field travels is kRoundStatsFields.
struct RoundStats {
  double loss_sum = 0;       // sum over items of the unweighted loss: local mean x local items
  double items = 0;          // examples, or groups for ranking tasks
  double examples = 0;
  double real_tokens = 0;    // padding excluded
  double nonfinite = 0;      // 1: a NaN/Inf gradient norm (or loss) on this rank
  double stop_signal = 0;    // 1: this rank received SIGUSR1/SIGTERM
  double grad_norm = 0;      // global gradient norm (0 when not finite)
  double compute_s = 0;      // seconds to the end of backward: the slowest rank's, after R4
};

// The wire record of RoundStats: one entry per field, in wire order (the summed fields
// first, so that one call sums them and takes the maximum of the rest). Adding a field
// means one line here and a new kRoundProtocolVersion.
enum class Reduction { kSum, kMax };
struct RoundStatsField {
  const char* name;
  Reduction reduction;
  double RoundStats::*member;
};
extern const std::vector<RoundStatsField> kRoundStatsFields;

// The control-plane collectives of each step, in the order the step issues them (what a
// recording plane must see filed under the step's name).
enum class Collective { kAgreement, kBroadcast, kAllreduce, kAllgather, kBarrier };
const char* to_string(Collective c);
struct StepCollectives {
  const char* step;                    // "R4"
  std::vector<Collective> collectives;
  const char* when;                    // when the step runs
};
//   S1  kAgreement     twice: the resolved configuration; then device kind and precision
//   S2  kAgreement     initial weights checksum
//   S3  kBroadcast     checkpoint path (every start: "" for a fresh one)
//   S4  kAgreement     restored state checksum (resume only)
//   E1  kBroadcast     EpochMessage
//   E2  kAgreement     schedule hash
//   R1  kBroadcast     RoundPlan
//   R3  kAllreduce     target counts (tasks with a head whose loss is a mean over targets)
//   R4  kAllreduce     RoundStats
//   R6  kAllgather     predictions, once per evaluated split (F2 too)
//   C1  kAllgather     CPU generator states (a second kAllgather on a GPU: the device's)
//   F3  kBarrier       after the model folder
extern const std::vector<StepCollectives> kStepCollectives;
// The entry of `step`; CommError for a step the table does not list.
const StepCollectives& step_collectives(const std::string& step);

// One rank's end of the protocol: the only caller of the control plane.
class RoundProtocol {
 public:
  explicit RoundProtocol(ControlPlane& plane) : plane_(plane) {}

  // Where this rank stands (no communication).
  int rank() const { return plane_.rank(); }
  int size() const { return plane_.size(); }
  int local_rank() const { return plane_.local_rank(); }
  int local_size() const { return plane_.local_size(); }
  // The MPI context for the gradient backends, or nullptr in one process.
  const MpiContext* mpi() const { return plane_.mpi(); }

  // S1: every rank's resolved configuration (JSON) must equal rank 0's.
  void agree_config(const std::string& config_json);
  // S1: every rank computes on the same kind of device in the same precision.
  void agree_execution(const std::string& device_and_precision);
  // S2: the checksum of the initial weights.
  void agree_initial_weights(uint64_t checksum);
  // S3: rank 0's checkpoint path ("" for a fresh start) on every rank.
  std::string choose_checkpoint(const std::string& rank0_choice);
  // S4: the checksum of the state restored from `checkpoint`.
  void agree_restored_state(const std::string& checkpoint, uint64_t checksum);
  // E1: rank 0's epoch message received and checked against `epoch`; returns the seed to
  // build the schedule from.
  uint64_t start_epoch(int64_t epoch, uint64_t seed);
  // E2: every rank's schedule hash must equal rank 0's.
  void verify_schedule(int64_t epoch, size_t steps, uint64_t hash);
  // R1: rank 0 passes its plan (others pass their expectation: step, epoch, index, task);
  // returns rank 0's plan after checking it against the expectation.
  RoundPlan exchange_plan(const RoundPlan& mine);
  // R3: this rank's target count per head, summed over ranks (one all-reduce).
  std::vector<double> sum_target_counts(std::vector<double> mine);
  // R4: the stats reduced over ranks; CommError when a rank speaks another version.
  RoundStats reduce_stats(const RoundStats& mine);
  // R6: every rank's packed predictions of one split, in rank order.
  std::vector<std::string> gather_predictions(const std::string& mine);
  // C1: every rank's CPU generator state, in rank order; and, on a GPU, its device
  // generator's (a second allgather; empty when `mine_cuda` is not given).
  struct GeneratorStates {
    std::vector<std::string> cpu, cuda;
  };
  GeneratorStates gather_generator_states(const std::string& mine_cpu, const std::string* mine_cuda);
  // F3: the last collective of a run (rank 0 has written the model folder).
  void finish();

 private:
  ControlPlane& plane_;
};

// Fixed-size little-endian encodings of the messages (tests check round trips and versions).
std::string encode(const EpochMessage& m);
std::string encode(const RoundPlan& p);
// RoundStats as the all-reduce carries them: the fields in kRoundStatsFields order, then
// the version twice (as v and -v, both reduced by maximum: after the reduction they give
// the highest and the lowest version of any rank).
std::vector<double> encode(const RoundStats& s);
// Throw CommError on a wrong size or version ("round plan version 2, this rank speaks 1").
EpochMessage decode_epoch_message(const std::string& bytes);
RoundPlan decode_round_plan(const std::string& bytes);
RoundStats decode_round_stats(const std::vector<double>& wire);

// "0x0123456789abcdef".
std::string hex64(uint64_t value);

}  // namespace mtdnn::comm
