// A toy vocabulary and one task of each row kind (classification, regression, ranking),
// for the tests that preprocess small hand-written files.
#pragma once

namespace mtdnn::test {

inline constexpr const char* kToyVocab =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\ndog\nran\na\nwho\n##s\n.\n?\n";
inline constexpr const char* kToyTasks =
    "topic:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n  labels: [pets, other]\n"
    "  metric_meta: [ACC]\n"
    "sim:\n  task_type: Regression\n  data_format: PremiseAndOneHypothesis\n  n_class: 1\n  metric_meta: [Pearson]\n"
    "qa:\n  task_type: Ranking\n  data_format: PremiseAndMultiHypothesis\n  n_class: 1\n  metric_meta: [ACC]\n"
    "  split_names: [train, test]\n";

}  // namespace mtdnn::test
