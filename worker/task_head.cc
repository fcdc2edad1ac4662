// Shared pieces of the task heads (see task_head.h) and the HeadSpec helpers.
#include "worker/task_head.h"

#include <torch/torch.h>

#include "worker/fused_ops.h"

#include "common/error.h"
#include "tensor_io/shape_format.h"

namespace mtdnn::worker {

HeadKind resolved_head_kind(const HeadSpec& spec) {
  if (!spec.enable_san) return spec.kind;
  MTDNN_INPUT_CHECK(spec.kind == HeadKind::kClassification || spec.kind == HeadKind::kSan,
                    "task '{}': enable_san applies to classification tasks only, not {}",
                    spec.task, head_kind_name(spec.kind));
  return HeadKind::kSan;
}

const char* head_kind_name(HeadKind kind) {
  switch (kind) {
    case HeadKind::kClassification: return "classification";
    case HeadKind::kRegression: return "regression";
    case HeadKind::kRanking: return "ranking";
    case HeadKind::kSan: return "san";
    case HeadKind::kMaskedLm: return "masked_lm";
    case HeadKind::kNextSentence: return "next_sentence";
  }
  return "unknown";
}

HeadKind head_kind_from_name(const std::string& name, const std::string& where) {
  constexpr HeadKind kAll[] = {HeadKind::kClassification, HeadKind::kRegression, HeadKind::kRanking,
                               HeadKind::kSan,            HeadKind::kMaskedLm,   HeadKind::kNextSentence};
  for (HeadKind k : kAll)
    if (name == head_kind_name(k)) return k;
  throw InputError(fmt::format("{}: unknown head kind '{}'", where, name));
}

std::string head_path(const HeadSpec& spec) { return spec.role.empty() ? spec.task : spec.task + "." + spec.role; }

TaskHeadImpl::TaskHeadImpl(HeadSpec spec, const BertConfig& config, int64_t out_features) : spec_(std::move(spec)) {
  weight_ = register_parameter(
      "weight", torch::empty({out_features, config.hidden_size}).normal_(0, config.initializer_range));
  bias_ = register_parameter("bias", torch::zeros({out_features}));
}

void check_labels(const HeadSpec& spec, const torch::Tensor& labels, int64_t dims, int64_t rows,
                  bool integer) {
  MTDNN_INPUT_CHECK(labels.defined(), "task '{}': labels are undefined", spec.task);
  MTDNN_INPUT_CHECK(labels.dim() == dims && labels.size(0) == rows,
                    "task '{}' ({} head): labels {} do not match {} rows", spec.task,
                    head_kind_name(spec.kind), tensor_io::shape_of(labels), rows);
  const bool is_integer = !torch::isFloatingType(labels.scalar_type()) &&
                          labels.scalar_type() != torch::kBool;
  MTDNN_INPUT_CHECK(is_integer == integer, "task '{}' ({} head): labels must be {}, got {}",
                    spec.task, head_kind_name(spec.kind), integer ? "integers" : "floats",
                    c10::toString(labels.scalar_type()));
}

torch::Tensor TaskHeadImpl::project_pooled(const HeadInput& input, bool dropout) {
  const torch::Tensor x = dropout ? ops::dropout(input.pooled, spec_.dropout_p, is_training()) : input.pooled;
  return ops::linear(x, weight_, bias_);
}

torch::Tensor TaskHeadImpl::predict(const HeadOutput& output, const HeadInput&) const {
  return output.logits.argmax(-1);
}

HeadOutput TaskHeadImpl::with_class_loss(torch::Tensor logits, const torch::Tensor& labels, bool log_probs) const {
  HeadOutput out;
  out.logits = std::move(logits);
  if (labels.defined()) {
    check_labels(spec(), labels, 1, out.logits.size(0), /*integer=*/true);
    const torch::Tensor target = labels.to(torch::kLong);
    out.loss = log_probs ? torch::nll_loss(out.logits, target) : torch::cross_entropy_loss(out.logits, target);
  }
  return out;
}

}  // namespace mtdnn::worker
