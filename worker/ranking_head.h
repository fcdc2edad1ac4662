// Pairwise ranking head (relevance ranking, e.g. QNLI as ranking in the MT-DNN paper):
// a score Linear(H, 1) per (query, candidate) row; the candidates of a query are
// consecutive rows forming a group; softmax over each group's scores (gamma = 1) and
// cross-entropy on the positive candidate. Parameters `weight` (1, H), `bias` (1).
// Input group_sizes (G) int64 summing to B; labels (G) int64, the positive's index within
// its group; logits (B) scores; predictions (G) index of the best-scored candidate.
#pragma once

#include "worker/bert_config.h"
#include "worker/task_head.h"

namespace mtdnn::worker {

TaskHead make_ranking_head(const HeadSpec& spec, const BertConfig& config);

// Group sizes (G) from row offsets (G + 1): [0, 3, 5] -> [3, 2].
torch::Tensor group_sizes_from_offsets(const torch::Tensor& offsets);
// Scores (B) laid out per group: (G, Kmax), -inf where a group has fewer candidates.
// Throws InputError when the sizes are not positive or do not sum to B.
torch::Tensor scores_by_group(const torch::Tensor& scores, const torch::Tensor& group_sizes,
                              const std::string& task);

}  // namespace mtdnn::worker
