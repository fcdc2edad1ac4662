// Bucketed gradient all-reduce that overlaps backward, in the manner of PyTorch DDP:
// parameters are packed, in reverse registration order, into flat buckets of about 25 MB
// (the first, launched first, about 1 MB); a hook on each parameter copies its gradient
// into its bucket (pre-divided by the world size) as backward produces it, and a full
// bucket's all-reduce starts at once, in bucket order on every rank. Buckets never mix
// parameter groups (the shared encoder, each task's head), so a step reduces only the
// groups that took part: the encoder and the active task's head. Used by the trainer.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/grad_comm.h"

namespace mtdnn::worker {

struct ParamGroup {
  std::string name;                   // "encoder", "heads.rte", ...
  std::vector<torch::Tensor> params;  // in registration order
};

struct ReducerStats {
  double exposed_wait_s = 0;  // time finish() waited for reductions (communication not hidden)
  int64_t buckets = 0;        // reductions launched
  int64_t bytes = 0;          // bytes reduced
};

class GradReducer {
 public:
  GradReducer(std::vector<ParamGroup> groups, GradComm* comm, int world_size,
              size_t bucket_bytes = 25u << 20, size_t first_bucket_bytes = 1u << 20);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Before backward. `active`: the groups that will receive gradients. `reduce`: false for
  // the first micro-steps of a gradient accumulation (gradients then accumulate locally and
  // are reduced, summed with this step's, on the micro-step that passes true).
  void prepare(const std::vector<std::string>& active, bool reduce = true);
  // After backward: launches what is left, waits, and writes the averaged gradients into
  // each parameter's .grad. Parameters that received no gradient keep none. Every rank
  // must run the same sequence of prepare/backward/finish with the same active groups.
  void finish();

  const ReducerStats& stats() const { return stats_; }
  size_t num_buckets() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ReducerStats stats_;
};

}  // namespace mtdnn::worker
