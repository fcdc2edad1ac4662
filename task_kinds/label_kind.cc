// Names of the label kinds (label_kind.h).
#include "task_kinds/label_kind.h"

#include "common/enum_names.h"
#include "common/error.h"

namespace mtdnn {

namespace {
constexpr EnumName<LabelKind> kLabelKindNames[] = {
    {LabelKind::kClass, "class"}, {LabelKind::kScore, "score"}, {LabelKind::kNone, "none"}};
}  // namespace

const char* to_string(LabelKind k) { return name_of(kLabelKindNames, k); }

LabelKind label_kind_from_string(const std::string& s) { return parse_name(kLabelKindNames, s, "label kind"); }

}  // namespace mtdnn
