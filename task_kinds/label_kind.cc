// Names of the label kinds (label_kind.h).
#include "task_kinds/label_kind.h"

#include "common/error.h"

namespace mtdnn {

const char* to_string(LabelKind k) {
  switch (k) {
    case LabelKind::kClass: return "class";
    case LabelKind::kScore: return "score";
    case LabelKind::kNone: return "none";
  }
  return "?";
}

LabelKind label_kind_from_string(const std::string& s) {
  if (s == "class") return LabelKind::kClass;
  if (s == "score") return LabelKind::kScore;
  if (s == "none") return LabelKind::kNone;
  throw InputError(fmt::format("unknown label kind '{}'", s));
}

}  // namespace mtdnn
