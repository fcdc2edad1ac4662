// Retention of checkpoint folders: keep the last K plus every M-th step, and never the one
// `latest` names. The plan is a pure function (unit-tested); apply_retention runs it on a
// checkpoint root. Used by the writer after each commit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mtdnn::checkpoints {

struct RetentionPolicy {
  int keep_last = 3;       // K: the K highest steps stay; 0 keeps everything
  int64_t keep_every = 0;  // M: steps that are multiples of M stay too; 0 = none
};

// Which of `steps` (every checkpoint folder present) to delete: all but the K highest, the
// multiples of M and `protected_step` (the latest target). Sorted increasing.
std::vector<int64_t> steps_to_delete(std::vector<int64_t> steps, const RetentionPolicy& policy,
                                     std::optional<int64_t> protected_step);

// Deletes, under `root`, the checkpoints steps_to_delete picks, protecting the folder the
// `latest` pointer names; deletes nothing when that pointer is missing or malformed. Each
// folder is first renamed out of the ckpt-<step> namespace, then removed, so a crash never
// leaves a half-deleted ckpt-<step>. Returns the deleted paths. Throws SystemError.
std::vector<std::string> apply_retention(const std::string& root, const RetentionPolicy& policy);

// Removes what interrupted saves and deletions leave under `root` (.tmp-ckpt-*, .old-ckpt-*,
// .del-ckpt-*, latest.tmp-*), except names containing `keep` (the save in flight, when
// non-empty). Best effort: failures are ignored. Returns the removed names.
std::vector<std::string> remove_leftovers(const std::string& root, const std::string& keep = "");

}  // namespace mtdnn::checkpoints
