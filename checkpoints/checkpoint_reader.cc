// Finding, verifying and loading checkpoints (see checkpoint_reader.h).
#include "checkpoints/checkpoint_reader.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include "checkpoints/checkpoint_format.h"
#include "common/error.h"
#include "common/log.h"
#include "tensor_io/safetensors.h"
#include "tensor_io/shape_format.h"

namespace mtdnn::checkpoints {
namespace {

namespace fs = std::filesystem;

std::string first_problem(const VerifyResult& r) {
  std::string s = r.problems.front();
  if (r.problems.size() > 1) s += fmt::format(" (and {} more problems)", r.problems.size() - 1);
  return s;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::optional<FoundCheckpoint> find_latest_valid(const std::string& root, VerifyLevel level) {
  const std::vector<CheckpointRef> refs = list_checkpoints(root);
  const LatestPointer latest = read_latest_pointer(root);
  std::vector<std::string> warnings;
  auto finish = [&](const std::string& path, int64_t step) {
    for (const auto& w : warnings) log_info("warning: {}", w);
    return FoundCheckpoint{path, step, warnings};
  };

  std::string tried;
  if (latest.present && latest.problem.empty()) {
    tried = latest.target;
    const std::string path = (fs::path(root) / latest.target).string();
    VerifyResult r = verify_checkpoint(path, level);
    if (r.ok()) return finish(path, r.manifest->step);
    warnings.push_back(fmt::format("{}/{} names {}, which is not a valid checkpoint: {}", root,
                                   kLatestFile, latest.target, first_problem(r)));
  } else if (latest.present) {
    warnings.push_back(latest.problem);
  } else if (!refs.empty()) {
    warnings.push_back(fmt::format("{}/{} is missing (deleted, or the first save was "
                                   "interrupted before its commit)",
                                   root, kLatestFile));
  }
  if (refs.empty() && !latest.present) return std::nullopt;

  for (auto it = refs.rbegin(); it != refs.rend(); ++it) {
    if (fs::path(it->path).filename() == tried) continue;
    VerifyResult r = verify_checkpoint(it->path, level);
    if (r.ok()) {
      warnings.push_back(fmt::format("falling back to {}, the newest valid checkpoint", it->path));
      return finish(it->path, it->step);
    }
    warnings.push_back(fmt::format("skipping {}: {}", it->path, first_problem(r)));
  }
  throw InputError(fmt::format(
      "{}: no valid checkpoint: {}. Run `mtdnn-ckpt verify {}` for details; move the broken "
      "folders away to start over, or restore them from a copy",
      root, fmt::join(warnings, "; "), root));
}

Manifest read_manifest(const std::string& path) {
  VerifyResult r = verify_checkpoint(path, VerifyLevel::kStructure);
  if (!r.ok())
    throw InputError(fmt::format("{}: not a valid checkpoint: {}", path, fmt::join(r.problems, "; ")));
  return std::move(*r.manifest);
}

TrainingState load_checkpoint(const std::string& path, bool verify) {
  VerifyResult r = verify_checkpoint(path, verify ? VerifyLevel::kChecksums : VerifyLevel::kStructure);
  if (!r.ok())
    throw InputError(fmt::format("{}: cannot load: {}. Run `mtdnn-ckpt verify {}`; resume from "
                                 "another checkpoint if this one is damaged",
                                 path, fmt::join(r.problems, "; "), path));
  tensor_io::SafetensorsFile file((fs::path(path) / kStateFile).string());
  TrainingState state;
  for (const auto& [name, rec] : r.manifest->tensors) state.tensors.emplace(name, file.tensor(name));
  state.meta = std::move(r.manifest->meta);
  return state;
}

void restore_tensors_strict(const TrainingState& loaded,
                            const std::map<std::string, at::Tensor>& targets,
                            const std::string& prefix, const std::string& where) {
  std::vector<std::string> problems;
  for (const auto& [name, t] : loaded.tensors) {
    if (!starts_with(name, prefix)) continue;
    auto it = targets.find(name);
    if (it == targets.end()) {
      problems.push_back(fmt::format("unexpected tensor '{}'", name));
      continue;
    }
    if (it->second.sizes() != t.sizes())
      problems.push_back(fmt::format("tensor '{}' has shape {} but the model expects {}", name,
                                     tensor_io::shape_of(t), tensor_io::shape_of(it->second)));
    else if (it->second.scalar_type() != t.scalar_type())
      problems.push_back(fmt::format("tensor '{}' has dtype {} but the model expects {}", name,
                                     c10::toString(t.scalar_type()),
                                     c10::toString(it->second.scalar_type())));
  }
  for (const auto& [name, t] : targets) {
    if (!starts_with(name, prefix))
      problems.push_back(fmt::format("target '{}' lies outside the prefix '{}'", name, prefix));
    else if (!loaded.tensors.count(name))
      problems.push_back(fmt::format("missing tensor '{}'", name));
  }
  if (!problems.empty())
    throw InputError(fmt::format("{}: cannot restore '{}*' strictly: {}", where, prefix,
                                 fmt::join(problems, "; ")));
  at::NoGradGuard no_grad;
  for (const auto& [name, target] : targets) {
    at::Tensor dst = target;  // shares storage with the caller's tensor
    dst.copy_(loaded.tensors.at(name));
  }
}

const at::Tensor& state_tensor(const TrainingState& state, const std::string& name,
                               const std::string& where) {
  auto it = state.tensors.find(name);
  MTDNN_INPUT_CHECK(it != state.tensors.end(), "{}: missing tensor '{}'", where, name);
  return it->second;
}

}  // namespace mtdnn::checkpoints
