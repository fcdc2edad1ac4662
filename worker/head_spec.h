// HeadSpec: what the model needs to know to build one task's head. A plain struct, filled
// from a task definition (task_type, n_class, dropout_p, enable_san) by the caller, so the
// model does not depend on the task-definition parser. Torch-free.
#pragma once

#include <cstdint>
#include <string>

namespace mtdnn::worker {

enum class HeadKind {
  kClassification,  // dropout, Linear(H, C) on the pooled [CLS] vector, cross-entropy
  kRegression,      // dropout, Linear(H, 1), mean squared error
  kRanking,         // dropout, Linear(H, 1) score per candidate, softmax within a group
  kSan,             // stochastic answer network over the token states (classification)
  kMaskedLm,        // BERT's masked-LM head, decoder tied to the word embeddings
  kNextSentence,    // BERT's next-sentence head, Linear(H, 2) on the pooled vector
};

struct HeadSpec {
  std::string task;  // task name; the head's parameters are named `heads.<task>.*`
  std::string role;  // a task with several heads (MaskLM: mlm, nsp): `heads.<task>.<role>.*`
  HeadKind kind = HeadKind::kClassification;
  int64_t n_class = 2;       // classes of classification / SAN / next-sentence heads
  double dropout_p = 0.1;    // dropout on the head's input, in training only
  bool enable_san = false;   // a classification task answered by the SAN module
  int64_t san_steps = 5;     // K reasoning steps of the SAN module
  double san_step_dropout = 0.1;  // stochastic prediction dropout over the K steps
};

// The head type that builds `spec`: kSan for a classification task with enable_san.
// Throws InputError naming the task when enable_san is set on another kind.
HeadKind resolved_head_kind(const HeadSpec& spec);

// "classification", "regression", "ranking", "san", "masked_lm", "next_sentence".
const char* head_kind_name(HeadKind kind);
// The kind named `name` (head_kind_name's inverse); InputError starting with `where`.
HeadKind head_kind_from_name(const std::string& name, const std::string& where);

// Where the head's parameters live under `heads.`: "<task>" or "<task>.<role>".
std::string head_path(const HeadSpec& spec);

}  // namespace mtdnn::worker
