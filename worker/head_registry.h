// HeadRegistry: head kind -> factory. Registration is explicit (register_builtin_heads
// lists every built-in head type; no static initialisers) and refuses duplicates, so a
// new head type is one new file plus one line there. Used by MtdnnModel.
#pragma once

#include <functional>
#include <map>

#include "worker/bert_config.h"
#include "worker/head_spec.h"
#include "worker/task_head.h"

namespace mtdnn::worker {

using HeadFactory = std::function<TaskHead(const HeadSpec&, const BertConfig&)>;

class HeadRegistry {
 public:
  // Throws Error when `kind` already has a factory.
  void add(HeadKind kind, HeadFactory factory);
  bool contains(HeadKind kind) const { return factories_.count(kind) != 0; }
  // Builds the head of `spec` (its resolved kind: SAN for classification + enable_san).
  // Throws InputError naming the task when no factory is registered for it.
  TaskHead create(const HeadSpec& spec, const BertConfig& config) const;

 private:
  std::map<HeadKind, HeadFactory> factories_;
};

// Adds classification, regression, ranking, SAN, masked-LM and next-sentence heads.
void register_builtin_heads(HeadRegistry& registry);
// A registry holding the built-in heads.
HeadRegistry builtin_head_registry();

}  // namespace mtdnn::worker
