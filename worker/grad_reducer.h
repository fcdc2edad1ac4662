// Bucketed gradient all-reduce that overlaps backward, in the manner of PyTorch DDP:
// parameters are packed, in reverse registration order, into flat buckets of about 25 MB
// (the first, launched first, about 1 MB); a hook on each parameter copies its gradient
// into its bucket (pre-divided by the world size) as backward produces it, and a full
// bucket's all-reduce starts at once, in bucket order on every rank. Buckets never mix
// parameter groups (the shared encoder, each task's head), so a step reduces only the
// groups that took part: the encoder and the active task's head. Used by the trainer.
//
// One parameter may be row-sparse: the word embeddings, whose gradient is non-zero only in
// the rows a batch looks up, yet is most of a small BERT's gradient bytes (30522 x H) and
// arrives last in backward, when nothing is left to overlap with. It stays out of the
// buckets; after backward the union of the rows the ranks noted (a vocabulary mask summed
// over ranks) selects the rows of one compact all-reduce, the same sum as a dense one.
#pragma once

#include <torch/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "comm/grad_comm.h"

namespace mtdnn::worker {

struct ParamGroup {
  std::string name;                   // "encoder", "heads.rte", ...
  std::vector<torch::Tensor> params;  // in registration order
};

struct ReducerStats {
  double exposed_wait_s = 0;  // time finish() waited for reductions (communication not hidden)
  int64_t buckets = 0;        // reductions launched
  int64_t bytes = 0;          // bytes reduced (the row-sparse parameter's rows and mask included)
};

class GradReducer {
 public:
  // `comm`: the gradient backend; nullptr: nothing is reduced (one rank). Buckets live on
  // the parameters' device. `row_sparse`: a parameter of `groups` (2-D, rows indexed by ids)
  // reduced as described above; undefined or frozen: none.
  GradReducer(std::vector<ParamGroup> groups, comm::GradComm* comm, int world_size, torch::Tensor row_sparse = {},
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
  // On every micro-step, before finish(): the row ids this rank looked up in the row-sparse
  // parameter. The caller guarantees its gradient is zero in every other row (no output
  // layer tied to it). Every rank notes rows on the same steps; a step without noted rows
  // reduces the parameter whole.
  void note_rows(const torch::Tensor& ids);

  // The L2 norm of every gradient the last finish() left in the reduced groups (the row-sparse
  // parameter's included), taken while writing them back; the same on every rank. None when
  // that finish() reduced nothing (one rank, an accumulation micro-step) or on a GPU: the
  // optimizer's grad_norm() then takes it.
  std::optional<double> grad_norm() const { return grad_norm_; }

  const ReducerStats& stats() const { return stats_; }
  size_t num_buckets() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ReducerStats stats_;
  std::optional<double> grad_norm_;
};

}  // namespace mtdnn::worker
