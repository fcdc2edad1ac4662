// Checkpoint retention and clean-up of interrupted saves (see retention.h).
#include "checkpoints/retention.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "checkpoints/checkpoint_format.h"
#include "common/error.h"
#include "common/file_util.h"

namespace mtdnn::checkpoints {
namespace {
namespace fs = std::filesystem;

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

std::vector<int64_t> steps_to_delete(std::vector<int64_t> steps, const RetentionPolicy& policy,
                                     std::optional<int64_t> protected_step) {
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  if (policy.keep_last <= 0) return {};
  std::set<int64_t> keep;
  const size_t k = static_cast<size_t>(policy.keep_last);
  for (size_t i = steps.size() > k ? steps.size() - k : 0; i < steps.size(); ++i) keep.insert(steps[i]);
  if (policy.keep_every > 0)
    for (int64_t s : steps)
      if (s % policy.keep_every == 0) keep.insert(s);
  if (protected_step) keep.insert(*protected_step);
  std::vector<int64_t> out;
  for (int64_t s : steps)
    if (!keep.count(s)) out.push_back(s);
  return out;
}

std::vector<std::string> apply_retention(const std::string& root, const RetentionPolicy& policy) {
  if (policy.keep_last <= 0) return {};
  const LatestPointer latest = read_latest_pointer(root);
  if (!latest.present || !latest.problem.empty()) return {};  // cannot tell what to protect
  const auto protected_step = parse_checkpoint_folder_name(latest.target);
  std::vector<int64_t> steps;
  for (const auto& ref : list_checkpoints(root)) steps.push_back(ref.step);
  std::vector<std::string> deleted;
  for (int64_t step : steps_to_delete(steps, policy, protected_step)) {
    const fs::path from = fs::path(root) / checkpoint_folder_name(step);
    const fs::path to = fs::path(root) / (".del-" + checkpoint_folder_name(step) + "-" +
                                          std::to_string(::getpid()));
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec) throw SystemError(fmt::format("{}: cannot rename for deletion: {}", from.string(), ec.message()));
    fs::remove_all(to, ec);
    if (ec) throw SystemError(fmt::format("{}: cannot delete: {}", to.string(), ec.message()));
    deleted.push_back(from.string());
  }
  if (!deleted.empty()) fsync_path(root);
  return deleted;
}

std::vector<std::string> remove_leftovers(const std::string& root, const std::string& keep) {
  std::vector<std::string> removed;
  std::error_code ec;
  fs::directory_iterator it(root, ec);
  if (ec) return removed;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    const bool leftover = starts_with(name, kTempPrefix) || starts_with(name, ".old-ckpt-") ||
                          starts_with(name, ".del-ckpt-") || starts_with(name, "latest.tmp-");
    if (!leftover || (!keep.empty() && name.find(keep) != std::string::npos)) continue;
    std::error_code rm;
    fs::remove_all(entry.path(), rm);
    if (!rm) removed.push_back(name);
  }
  return removed;
}

}  // namespace mtdnn::checkpoints
