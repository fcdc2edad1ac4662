// Finding and loading checkpoints. find_latest_valid trusts the `latest` pointer only when
// its target verifies, and otherwise falls back to the newest valid checkpoint with a
// warning naming each broken one. Loading is strict: restore_tensors_strict refuses a
// missing, unexpected or mis-shaped tensor by name. Used by mtdnn-train's resume and by
// mtdnn-ckpt.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checkpoints/checkpoint_verify.h"
#include "checkpoints/training_state.h"

namespace mtdnn::checkpoints {

struct FoundCheckpoint {
  std::string path;  // <root>/ckpt-<step>
  int64_t step = 0;
  // Why `latest` was not used and which checkpoints were skipped (also logged); empty
  // when `latest` named a valid checkpoint.
  std::vector<std::string> warnings;
};

// The checkpoint to resume from under `root`: the `latest` target when it verifies (at
// `level`), else the newest valid ckpt-<step>. nullopt when `root` holds no checkpoint at
// all (missing or empty: a fresh start). Throws InputError, listing every problem, when
// checkpoints exist but none is valid: starting over silently would lose the run.
std::optional<FoundCheckpoint> find_latest_valid(const std::string& root,
                                                 VerifyLevel level = VerifyLevel::kChecksums);

// Reads one checkpoint folder. With `verify`, every tensor's SHA-256 is checked first
// (pass false right after find_latest_valid, which has just done so); the structure is
// always checked. Tensors are read-only-file-backed CPU tensors (copy-on-write mappings of
// state.safetensors). Throws InputError naming the folder and the problems.
TrainingState load_checkpoint(const std::string& path, bool verify = true);

// The checkpoint's own record (format version, step, writer, tensor table) and meta.
Manifest read_manifest(const std::string& path);

// Copies the tensors of `loaded` whose names start with `prefix` into `targets` (keyed by
// full name, e.g. "model/bert.pooler.dense.bias"), strictly: every target must be loaded,
// every loaded tensor under `prefix` must be a target, shapes and dtypes must match. All
// problems are reported at once, each naming the tensor, before anything is copied
// (InputError, prefixed by `where`).
void restore_tensors_strict(const TrainingState& loaded,
                            const std::map<std::string, at::Tensor>& targets,
                            const std::string& prefix, const std::string& where);

// The tensor `name` of a state; InputError naming it (and `where`) when absent.
const at::Tensor& state_tensor(const TrainingState& state, const std::string& name,
                               const std::string& where);

}  // namespace mtdnn::checkpoints
