// Test helpers for the model tests: the golden files of scripts/make-model-goldens.py
// (their deterministic weights, their task list) and tensor comparisons that report the
// worst element. Header-only, included by tests/worker/*_test.cc.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/lowbias32.h"
#include "test_support.h"
#include "worker/bert_config.h"
#include "worker/mtdnn_model.h"
#include "tensor_io/safetensors.h"

namespace mtdnn::worker::test {

inline std::filesystem::path golden_dir(const std::string& config) {
  return ::mtdnn::test::source_dir() / "tests" / "worker" / "golden" / config;
}

inline nlohmann::json golden_json(const std::string& config) {
  std::ifstream in(golden_dir(config) / "golden.json");
  return nlohmann::json::parse(in);
}

inline torch::Tensor golden_weight(const std::string& name, c10::IntArrayRef shape) {
  uint32_t key = 0x811c9dc5U;
  for (unsigned char c : name) key = (key ^ c) * 0x01000193U;
  float scale;
  float base = 0.0f;
  const auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with("LayerNorm.weight")) {
    base = 1.0f;
    scale = 0.1f;
  } else if (shape.size() == 1) {
    scale = 0.1f;
  } else if (ends_with("embeddings.weight")) {
    scale = 1.0f;
  } else {
    scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.back())));
  }
  auto out = torch::empty(shape, torch::kFloat);
  float* p = out.data_ptr<float>();
  for (int64_t i = 0; i < out.numel(); ++i) {
    const uint32_t h = lowbias32(lowbias32(static_cast<uint32_t>(i) ^ key) ^ 0x9e3779b9U);
    const float u = static_cast<float>((2.0 * (h >> 8) + 1) / 16777216.0 - 1);
    p[i] = base == 0.0f ? scale * u : base + scale * u;
  }
  return out;
}

inline HeadKind golden_head_kind(const std::string& kind) {
  if (kind == "classification" || kind == "san") return HeadKind::kClassification;
  if (kind == "regression") return HeadKind::kRegression;
  if (kind == "ranking") return HeadKind::kRanking;
  if (kind == "masked_lm") return HeadKind::kMaskedLm;
  if (kind == "next_sentence") return HeadKind::kNextSentence;
  throw std::runtime_error("unknown golden head kind " + kind);
}

inline MtdnnModelOptions golden_model_options(const std::string& config, bool fused = true, bool unpadded = true) {
  const auto g = golden_json(config);
  MtdnnModelOptions options;
  options.config = parse_bert_config(g["config"].dump(), "golden.json");
  options.fused = fused;
  options.unpadded = unpadded;
  for (const auto& t : g["tasks"]) {
    HeadSpec spec;
    spec.task = t["name"];
    spec.kind = golden_head_kind(t["kind"]);
    spec.enable_san = t["kind"] == "san";
    spec.san_steps = g["san_steps"];
    if (t["n_class"].get<int64_t>() >= 2) spec.n_class = t["n_class"];
    options.heads.push_back(spec);
  }
  return options;
}

// The golden model with the script's weights, in eval mode.
inline MtdnnModel golden_model(const std::string& config, bool fused = true, bool unpadded = true) {
  MtdnnModel model(golden_model_options(config, fused, unpadded));
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    std::string name = item.key();
    if (name.rfind("bert.", 0) == 0) name = name.substr(5);
    item.value().copy_(golden_weight(name, item.value().sizes()));
  }
  model->eval();
  return model;
}

struct GoldenBatch {
  torch::Tensor input_ids, token_type_ids, attention_mask, group_sizes;
  std::map<std::string, torch::Tensor> labels;
  ModelInput for_task(const std::string& task, bool with_labels = true) const {
    ModelInput in{input_ids, token_type_ids, attention_mask, {}, torch::Tensor()};
    if (with_labels) in.labels = {labels.at(task)};
    if (task == "rank") in.group_sizes = group_sizes;
    return in;
  }
};

inline GoldenBatch golden_inputs(const std::string& config) {
  tensor_io::SafetensorsFile f((golden_dir(config) / "inputs.safetensors").string());
  GoldenBatch b;
  b.input_ids = f.tensor("input_ids").clone();
  b.token_type_ids = f.tensor("token_type_ids").clone();
  b.attention_mask = f.tensor("attention_mask").clone();
  b.group_sizes = f.tensor("group_sizes.rank").clone();
  for (const auto& name : f.names())
    if (name.rfind("labels.", 0) == 0) b.labels[name.substr(7)] = f.tensor(name).clone();
  return b;
}

// A golden gradient (outputs.safetensors "grad.<parameter>") and the model parameter it is
// of: encoder parameters are under "bert.", heads under "heads.".
struct GoldenGradient {
  std::string key;  // the model's parameter name
  torch::Tensor parameter, expected;
};

// Every golden gradient of `expected` with its parameter of `model`; a golden name the
// model lacks fails the test.
inline std::vector<GoldenGradient> golden_gradients(MtdnnModel& model, const tensor_io::SafetensorsFile& expected) {
  auto params = model->named_parameters();
  std::vector<GoldenGradient> out;
  for (const auto& name : expected.names()) {
    if (name.rfind("grad.", 0) != 0) continue;
    const std::string param = name.substr(5);
    const std::string key = param.rfind("heads.", 0) == 0 ? param : "bert." + param;
    EXPECT_TRUE(params.contains(key)) << key;
    if (params.contains(key)) out.push_back({key, params[key], expected.tensor(name)});
  }
  return out;
}

// The largest golden gradient magnitude: the scale of the tolerances relative to it.
inline double largest_golden_gradient(const std::vector<GoldenGradient>& gradients) {
  double largest = 0;
  for (const auto& g : gradients) largest = std::max(largest, g.expected.abs().max().item<double>());
  return largest;
}

// Max |a - e| <= rtol * max|e| + atol, elementwise report of the worst offender.
inline ::testing::AssertionResult close(const torch::Tensor& actual, const torch::Tensor& expected,
                                        double rtol = 1e-5, double atol = 1e-6) {
  if (!actual.defined() || actual.sizes() != expected.sizes()) {
    std::ostringstream msg;
    msg << "shape " << (actual.defined() ? actual.sizes() : c10::IntArrayRef{}) << " vs expected "
        << expected.sizes();
    return ::testing::AssertionFailure() << msg.str();
  }
  auto a = actual.detach().to(torch::kDouble);
  auto e = expected.detach().to(torch::kDouble);
  if (e.numel() == 0) return ::testing::AssertionSuccess();
  const double scale = e.abs().max().item<double>();
  auto diff = (a - e).abs();
  const double worst = diff.max().item<double>();
  const double bound = rtol * scale + atol;
  if (worst <= bound && !a.isnan().any().item<bool>()) return ::testing::AssertionSuccess();
  const int64_t at = diff.reshape(-1).argmax().item<int64_t>();
  return ::testing::AssertionFailure()
         << "max |diff| " << worst << " > " << bound << " (scale " << scale << ") at flat index "
         << at << ": " << a.reshape(-1)[at].item<double>() << " vs "
         << e.reshape(-1)[at].item<double>();
}

}  // namespace mtdnn::worker::test
