// The built-in task kinds: one line each. A new kind is one file in this folder plus one
// line here (docs/adding-a-task-type.md).
#include "task_kinds/task_kind.h"

namespace mtdnn::task_kinds {

std::unique_ptr<TaskKind> make_classification_kind();
std::unique_ptr<TaskKind> make_regression_kind();
std::unique_ptr<TaskKind> make_ranking_kind();
std::unique_ptr<TaskKind> make_mask_lm_kind();

const TaskKindRegistry& builtin_task_kinds() {
  static const TaskKindRegistry registry = [] {
    TaskKindRegistry r;
    r.add(make_classification_kind());
    r.add(make_regression_kind());
    r.add(make_ranking_kind());
    r.add(make_mask_lm_kind());
    return r;
  }();
  return registry;
}

}  // namespace mtdnn::task_kinds
