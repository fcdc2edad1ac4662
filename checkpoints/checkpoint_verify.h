// Checkpoint validation, torch-free: is a ckpt-<step> folder complete and intact? Checks,
// in order: the DONE marker, meta.json against the digest in DONE, meta.json's format,
// version and counts, state.safetensors' size and header against meta.json, and (level
// kChecksums) every tensor's SHA-256. Used by the reader (find_latest_valid, load) and
// `mtdnn-ckpt verify`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "checkpoints/checkpoint_format.h"

namespace mtdnn::checkpoints {

enum class VerifyLevel {
  kStructure,  // everything but the tensor bytes: reads the small files and the header
  kChecksums,  // also hashes every tensor (reads the whole state file)
};

struct VerifyResult {
  // One line per problem, each naming the file (and the tensor) involved; empty = valid.
  std::vector<std::string> problems;
  std::optional<Manifest> manifest;  // set when meta.json could be read and parsed
  bool ok() const { return problems.empty(); }
};

VerifyResult verify_checkpoint(const std::string& path,
                               VerifyLevel level = VerifyLevel::kChecksums);

}  // namespace mtdnn::checkpoints
