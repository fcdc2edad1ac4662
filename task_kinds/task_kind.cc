// The parts of a task kind that most kinds share, and the registry (task_kind.h).
#include "task_kinds/task_kind.h"

#include <algorithm>

#include "common/error.h"

namespace mtdnn::task_kinds {

std::vector<std::string> TaskKind::metric_names(const TaskDef& task) const {
  std::vector<std::string> out;
  for (Metric m : task.metric_meta) out.push_back(to_string(m));
  return out;
}

std::string TaskKind::parse_label(const TaskDef& task, const std::string& text, size_t, ParsedLabel*) const {
  return fmt::format("task '{}' ({}) does not read labels from rows (label '{}')", task.name, name(), text);
}

int64_t TaskKind::items(const BatchRows& rows) const {
  return grouped() ? static_cast<int64_t>(rows.group_sizes->size()) : rows.B;
}

std::string TaskKind::submission_value(const TaskDef& task, const EvalRows& rows, size_t i) const {
  return task.label_text(static_cast<int>(rows.predicted[i]));
}

void TaskKind::decide(const TaskDef& task, const std::vector<int64_t>&, EvalRows*) const {
  throw InputError(fmt::format("task '{}' ({}) has no per-example scores", task.name, name()));
}

void TaskKindRegistry::add(std::unique_ptr<TaskKind> kind) {
  MTDNN_CHECK(find(kind->name()) == nullptr, "task kind '{}' registered twice", kind->name());
  kinds_.push_back(std::move(kind));
}

const TaskKind* TaskKindRegistry::find(std::string_view name) const {
  for (const auto& k : kinds_)
    if (k->name() == name) return k.get();
  return nullptr;
}

std::vector<std::string> TaskKindRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& k : kinds_) out.emplace_back(k->name());
  return out;
}

const TaskKind& kind_of(const TaskDef& task) {
  const TaskKind* kind = builtin_task_kinds().find(task.task_type);
  MTDNN_CHECK(kind != nullptr, "task '{}' has the unregistered task_type '{}'", task.name, task.task_type);
  return *kind;
}

}  // namespace mtdnn::task_kinds
