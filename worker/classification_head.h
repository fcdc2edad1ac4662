// Classification head (single-sentence and pairwise classification): dropout on the
// pooled [CLS] vector, Linear(H, C), cross-entropy. Parameters `weight` (C, H), `bias` (C).
// Labels (B) int64 class ids; logits (B, C); predictions (B) argmax class ids.
#pragma once

#include "worker/bert_config.h"
#include "worker/task_head.h"

namespace mtdnn::worker {

TaskHead make_classification_head(const HeadSpec& spec, const BertConfig& config);

// BERT's next-sentence-prediction head (pretraining; Hugging Face's `cls.seq_relationship`):
// the same on two classes, 0 = B follows A, without dropout.
TaskHead make_next_sentence_head(const HeadSpec& spec, const BertConfig& config);

}  // namespace mtdnn::worker
