// BERT's next-sentence-prediction head (pretraining): Linear(H, 2) on the pooled vector,
// cross-entropy; Hugging Face's `cls.seq_relationship`. Parameters `weight` (2, H),
// `bias` (2). Labels (B) int64, 0 = B follows A; logits (B, 2); predictions (B) argmax.
#pragma once

#include "worker/bert_config.h"
#include "worker/task_head.h"

namespace mtdnn::worker {

TaskHead make_next_sentence_head(const HeadSpec& spec, const BertConfig& config);

}  // namespace mtdnn::worker
