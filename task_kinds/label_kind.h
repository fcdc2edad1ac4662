// What the shards store as a split's labels: a class id per example, a real score per
// example, or nothing (unlabeled splits such as GLUE's test sets). Each task kind names its
// own (task_kind.h); the shard format writes and checks it (sharding/shard_format.h).
#pragma once

#include <string>

namespace mtdnn {

enum class LabelKind { kClass, kScore, kNone };
const char* to_string(LabelKind k);                     // "class", "score", "none"
LabelKind label_kind_from_string(const std::string& s);  // throws InputError

}  // namespace mtdnn
