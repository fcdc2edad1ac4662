// BertForSequenceClassification folders (see hf_sequence_classifier.h).
#include "worker/hf_sequence_classifier.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include "common/error.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "common/sha256.h"
#include "task_kinds/task_kind.h"
#include "tensor_io/safetensors.h"
#include "worker/bert_config.h"
#include "worker/hf_interop.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mtdnn::worker {
namespace {

constexpr const char* kArchitecture = "BertForSequenceClassification";
constexpr const char* kEncoderPrefix = "bert.";
constexpr const char* kClassifierPrefix = "classifier.";

// The one head of `task`, which must be a linear one Hugging Face has a class for.
const TaskHeadImpl& linear_head(const MtdnnModelImpl& model, const TaskDef& task, const std::string& where) {
  const auto& tasks = model.tasks();
  MTDNN_INPUT_CHECK(std::find(tasks.begin(), tasks.end(), task.name) != tasks.end(), "{}: the model has no task '{}'",
                    where, task.name);
  const auto& heads = model.heads_of(task.name);
  MTDNN_INPUT_CHECK(heads.size() == 1, "{}: task '{}' has {} heads; BertForSequenceClassification has one", where,
                    task.name, heads.size());
  const HeadKind kind = resolved_head_kind(heads.front()->spec());
  MTDNN_INPUT_CHECK(kind == HeadKind::kClassification || kind == HeadKind::kRegression,
                    "{}: task '{}' has a {} head, which Hugging Face has no class for (BertForSequenceClassification "
                    "is a linear head on the pooled [CLS] vector). Export the whole model with `mtdnn-ckpt export-hf` "
                    "without --task (mtdnn.json describes its heads), or train the task with a linear head "
                    "(enable_san: false, as in tasks/glue-linear.yml)",
                    where, task.name, head_kind_name(kind));
  return *heads.front();
}

// Class names, in class-id order: the task's labels, else the ids ("0", "1", ...) as GLUE's
// files write them; a regression's one output is its score.
std::vector<std::string> class_names(const TaskDef& task, bool regression) {
  if (regression) return {"score"};
  std::vector<std::string> names;
  for (int i = 0; i < task.n_class; ++i) names.push_back(task.label_text(i));
  return names;
}

std::string file_in(const std::string& dir, const char* name) { return (fs::path(dir) / name).string(); }

// The vocabulary (as vocab.txt's bytes: one token per line in id order, each line ending in
// a newline) and the casing of a Hugging Face folder's tokenizer. transformers writes
// vocab.txt with the slow tokenizer's files and tokenizer.json with the fast one's (its
// WordPiece model's vocab map and BertNormalizer); either serves, vocab.txt first.
struct FolderTokenizer {
  std::string vocab;
  bool lower_case = true;  // BertTokenizer's default
};

FolderTokenizer folder_tokenizer(const std::string& dir) {
  FolderTokenizer out;
  const std::string vocab_path = file_in(dir, "vocab.txt"), fast_path = file_in(dir, "tokenizer.json");
  if (fs::exists(vocab_path)) {
    out.vocab = read_file(vocab_path);
    if (!out.vocab.empty() && out.vocab.back() != '\n') out.vocab += '\n';
  } else {
    MTDNN_INPUT_CHECK(fs::exists(fast_path),
                      "{}: neither vocab.txt nor tokenizer.json, so the shards' tokenizer cannot be checked against "
                      "the model's", dir);
    const json fast = parse_json_object(read_file(fast_path), fast_path);
    const json vocab = fast.contains("model") ? fast["model"].value("vocab", json()) : json();
    MTDNN_INPUT_CHECK(fast["model"].value("type", "") == "WordPiece" && vocab.is_object() && !vocab.empty(),
                      "{}: not a WordPiece tokenizer (model.type and model.vocab)", fast_path);
    std::vector<std::string> tokens(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      const int64_t id = it.value().is_number_integer() ? it.value().get<int64_t>() : -1;
      MTDNN_INPUT_CHECK(id >= 0 && id < static_cast<int64_t>(tokens.size()) && tokens[id].empty(),
                        "{}: token '{}' has id {}; ids must be 0..{} once each", fast_path, it.key(),
                        it.value().dump(), tokens.size() - 1);
      tokens[id] = it.key();
    }
    for (const auto& token : tokens) out.vocab += token + "\n";
    const json normalizer = fast.value("normalizer", json());
    if (normalizer.is_object() && normalizer.value("lowercase", json()).is_boolean())
      out.lower_case = normalizer["lowercase"].get<bool>();
  }
  const std::string config_path = file_in(dir, "tokenizer_config.json");
  if (fs::exists(config_path)) {
    const json config = parse_json_object(read_file(config_path), config_path);
    if (config.value("do_lower_case", json()).is_boolean()) out.lower_case = config["do_lower_case"].get<bool>();
  }
  return out;
}

}  // namespace

void export_sequence_classifier(const MtdnnModelImpl& model, const TaskDef& task,
                                const sharding::TokenizerIdentity& tokenizer, const std::string& vocab_path,
                                const std::string& dir) {
  const TaskHeadImpl& head = linear_head(model, task, dir);
  const bool regression = resolved_head_kind(head.spec()) == HeadKind::kRegression;
  const std::string vocab_sha = sha256_hex_file(vocab_path);
  MTDNN_INPUT_CHECK(vocab_sha == tokenizer.vocab_sha256,
                    "{}: SHA-256 {} is not the vocabulary the model's shards were made with ({}); give that vocab.txt",
                    vocab_path, vocab_sha, tokenizer.vocab_sha256);

  NamedTensors tensors;
  for (auto& [name, tensor] : bert_state(*model.bert)) tensors.emplace_back(kEncoderPrefix + name, tensor);
  for (const auto& item : head.named_parameters()) tensors.emplace_back(kClassifierPrefix + item.key(), item.value());

  json config = json::parse(bert_config_to_json(model.options().config));
  config["architectures"] = {kArchitecture};
  config["model_type"] = "bert";
  json id2label = json::object(), label2id = json::object();
  const auto names = class_names(task, regression);
  for (size_t i = 0; i < names.size(); ++i) {
    id2label[std::to_string(i)] = names[i];
    label2id[names[i]] = i;
  }
  config["id2label"] = id2label;
  config["label2id"] = label2id;
  config["problem_type"] = regression ? "regression" : "single_label_classification";
  config["classifier_dropout"] = head.spec().dropout_p;

  // BertTokenizer's settings: lower-casing implies stripping accents, as mtdnn-preprocess does.
  const json tokenizer_config = {{"tokenizer_class", "BertTokenizer"},
                                 {"do_lower_case", tokenizer.lower_case},
                                 {"model_max_length", tokenizer.max_seq_len},
                                 {"unk_token", "[UNK]"},
                                 {"sep_token", "[SEP]"},
                                 {"pad_token", "[PAD]"},
                                 {"cls_token", "[CLS]"},
                                 {"mask_token", "[MASK]"}};
  const json special_tokens = {{"unk_token", "[UNK]"}, {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"},
                               {"cls_token", "[CLS]"}, {"mask_token", "[MASK]"}};

  std::error_code ec;
  fs::create_directories(dir, ec);
  MTDNN_INPUT_CHECK(!ec, "{}: cannot create the export folder: {}", dir, ec.message());
  tensor_io::write_safetensors(file_in(dir, "model.safetensors"), tensors, {{"format", "pt"}});
  write_file_atomic(file_in(dir, "config.json"), config.dump(2) + "\n");
  write_file_atomic(file_in(dir, "vocab.txt"), read_file(vocab_path));
  write_file_atomic(file_in(dir, "tokenizer_config.json"), tokenizer_config.dump(2) + "\n");
  write_file_atomic(file_in(dir, "special_tokens_map.json"), special_tokens.dump(2) + "\n");
}

bool is_sequence_classifier_folder(const std::string& dir) {
  const std::string config_path = file_in(dir, "config.json");
  if (fs::exists(file_in(dir, "training.json")) || !fs::exists(config_path)) return false;
  const json config = parse_json_object(read_file(config_path), config_path);
  const json architectures = config.value("architectures", json::array());
  return architectures.is_array() &&
         std::any_of(architectures.begin(), architectures.end(), [](const json& a) { return a == kArchitecture; });
}

LoadedModel load_sequence_classifier(const std::string& dir, const TaskDef& task, int64_t max_seq_len) {
  const std::string config_path = file_in(dir, "config.json");
  const json config = parse_json_object(read_file(config_path), config_path);
  const bool regression = task.task_type == "Regression";
  MTDNN_INPUT_CHECK(regression || task.task_type == "Classification",
                    "{}: task '{}' is a {} task; a {} answers Classification and Regression tasks only", dir,
                    task.name, task.task_type, kArchitecture);
  // id2label decides the number of outputs, as in transformers (num_labels is derived from it).
  const json id2label = config.value("id2label", json::object());
  MTDNN_INPUT_CHECK(id2label.is_object() && !id2label.empty(), "{}: needs an id2label object", config_path);
  const auto expected = class_names(task, regression);
  MTDNN_INPUT_CHECK(id2label.size() == expected.size(), "{}: {} outputs (id2label), but task '{}' needs {}",
                    config_path, id2label.size(), task.name, expected.size());
  if (regression) {
    const std::string problem = config.value("problem_type", json()).is_string() ? config["problem_type"].get<std::string>() : "";
    MTDNN_INPUT_CHECK(problem.empty() || problem == "regression", "{}: problem_type '{}' for the regression task '{}'",
                      config_path, problem, task.name);
  } else {
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::string id = std::to_string(i);
      MTDNN_INPUT_CHECK(id2label.contains(id) && id2label[id].is_string(), "{}: id2label has no label for class {}",
                        config_path, id);
      const std::string name = id2label[id].get<std::string>();
      // Generic names carry no meaning to check; real ones must be the task's, in its order.
      MTDNN_INPUT_CHECK(name == expected[i] || name == "LABEL_" + id || name == id,
                        "{}: class {} is '{}' there but '{}' in task '{}'; the classes must be in the task's order",
                        config_path, id, name, expected[i], task.name);
    }
  }

  LoadedModel out;
  out.tasks = {task};  // as the shards define it, so that they match
  const FolderTokenizer tokenizer = folder_tokenizer(dir);
  out.tokenizer.vocab_sha256 = sha256_hex(tokenizer.vocab);
  out.tokenizer.vocab_size = std::count(tokenizer.vocab.begin(), tokenizer.vocab.end(), '\n');
  out.tokenizer.lower_case = tokenizer.lower_case;
  out.tokenizer.max_seq_len = max_seq_len;

  TaskDef linear = task;
  linear.enable_san = false;  // the folder's head is linear whatever the shards' definition says
  out.model = MtdnnModel(model_options_of(read_bert_config(config_path), {linear}, std::nullopt));
  std::map<std::string, torch::Tensor> params;
  for (const auto& item : out.model->named_parameters()) params.emplace(item.key(), item.value());
  tensor_io::SafetensorsFile file(file_in(dir, "model.safetensors"));
  NamedTensors tensors;
  const std::string head_prefix = "heads." + task.name + ".";
  for (const auto& name : file.names()) {
    if (name.rfind("bert.", 0) == 0 && is_hf_buffer(name.substr(5))) continue;
    if (name.rfind(kClassifierPrefix, 0) == 0)
      tensors.emplace_back(head_prefix + name.substr(std::string(kClassifierPrefix).size()), file.tensor(name));
    else
      tensors.emplace_back(name, file.tensor(name));  // bert.<BertModel key>: the model's own name
  }
  copy_named_tensors_strict(params, tensors, file.path());
  out.model->eval();
  return out;
}

}  // namespace mtdnn::worker
