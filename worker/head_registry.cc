// HeadRegistry and the list of built-in head types (see head_registry.h).
#include "worker/head_registry.h"

#include "common/error.h"
#include "worker/classification_head.h"
#include "worker/mlm_head.h"
#include "worker/ranking_head.h"
#include "worker/regression_head.h"
#include "worker/san_head.h"

namespace mtdnn::worker {

void HeadRegistry::add(HeadKind kind, HeadFactory factory) {
  MTDNN_CHECK(factory != nullptr, "null factory for head kind '{}'", head_kind_name(kind));
  const bool inserted = factories_.emplace(kind, std::move(factory)).second;
  if (!inserted)
    throw Error(fmt::format("head kind '{}' is registered twice", head_kind_name(kind)));
}

TaskHead HeadRegistry::create(const HeadSpec& spec, const BertConfig& config) const {
  const HeadKind kind = resolved_head_kind(spec);
  auto it = factories_.find(kind);
  MTDNN_INPUT_CHECK(it != factories_.end(), "task '{}': no head of kind '{}' is registered",
                    spec.task, head_kind_name(kind));
  HeadSpec resolved = spec;
  resolved.kind = kind;
  return it->second(resolved, config);
}

void register_builtin_heads(HeadRegistry& registry) {
  registry.add(HeadKind::kClassification, make_classification_head);
  registry.add(HeadKind::kRegression, make_regression_head);
  registry.add(HeadKind::kRanking, make_ranking_head);
  registry.add(HeadKind::kSan, make_san_head);
  registry.add(HeadKind::kMaskedLm, make_masked_lm_head);
  registry.add(HeadKind::kNextSentence, make_next_sentence_head);
}

HeadRegistry builtin_head_registry() {
  HeadRegistry registry;
  register_builtin_heads(registry);
  return registry;
}

}  // namespace mtdnn::worker
