// Hugging Face import/export of BERT encoders and MT-DNN models (see hf_interop.h).
#include "worker/hf_interop.h"

#include <filesystem>
#include <optional>
#include <set>

#include <torch/torch.h>
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include "common/error.h"
#include "worker/mlm_head.h"
#include "tensor_io/safetensors.h"
#include "tensor_io/shape_format.h"

namespace mtdnn::worker {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kConfigFile = "config.json";
const std::map<std::string, std::string> kExportMetadata = {{"format", "pt"}};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}


// A file tensor and where it goes: target parameter name, or nullopt = ignored.
struct Mapped {
  std::string file_name;
  std::optional<std::string> target;
  torch::Tensor tensor;
};

// Where the model's only head of `kind` lives under `heads.` ("<task>" or "<task>.<role>"),
// or empty when it has none.
std::string single_head(const MtdnnModelImpl& model, HeadKind kind, const std::string& where) {
  std::string found;
  for (const auto& task : model.tasks())
    for (const TaskHeadImpl* head : model.heads_of(task)) {
      if (head->spec().kind != kind) continue;
      MTDNN_INPUT_CHECK(found.empty(),
                        "{}: the model has two {} heads ('{}', '{}'); Hugging Face's cls.* names fit only one", where,
                        head_kind_name(kind), found, head_path(head->spec()));
      found = head_path(head->spec());
    }
  return found;
}

// Maps file names to model parameter names. `model` null: loading a bare encoder, whose
// parameter names are BertModel keys; otherwise an MtdnnModel (bert. and heads. names).
class NameMapper {
 public:
  NameMapper(const MtdnnModelImpl* model, const std::string& where) : model_(model) {
    if (model_) {
      mlm_head_ = single_head(*model_, HeadKind::kMaskedLm, where);
      nsp_head_ = single_head(*model_, HeadKind::kNextSentence, where);
    }
  }

  // nullopt = ignored; the returned name may still be unknown (then it is unexpected).
  std::optional<std::string> map(const std::string& name) const {
    const std::string encoder_prefix = model_ ? "bert." : "";
    if (starts_with(name, "heads.") || starts_with(name, "scoring_list.")) {
      if (!model_) return std::nullopt;  // heads are not part of a bare encoder
      if (starts_with(name, "heads.")) return name;
      const std::string rest = name.substr(std::string("scoring_list.").size());
      const auto dot = rest.find('.');
      if (dot == std::string::npos || dot == 0) return name;
      const std::string index = rest.substr(0, dot);
      if (index.find_first_not_of("0123456789") != std::string::npos) return name;
      const size_t i = std::stoul(index);
      if (i >= model_->tasks().size()) return name;
      return "heads." + model_->tasks()[i] + "." + rest.substr(dot + 1);
    }
    if (starts_with(name, "cls.predictions.")) {
      const std::string rest = name.substr(std::string("cls.predictions.").size());
      if (mlm_head_.empty()) return std::nullopt;  // pretraining head not requested
      if (rest == "decoder.weight" || rest == "decoder.bias") return std::nullopt;  // tied
      return "heads." + mlm_head_ + "." + rest;
    }
    if (starts_with(name, "cls.seq_relationship.")) {
      if (nsp_head_.empty()) return std::nullopt;
      return "heads." + nsp_head_ + "." + name.substr(std::string("cls.seq_relationship.").size());
    }
    const std::string key = starts_with(name, "bert.") ? name.substr(5) : name;
    if (is_hf_buffer(key)) return std::nullopt;
    return encoder_prefix + key;
  }

 private:
  const MtdnnModelImpl* model_;
  std::string mlm_head_, nsp_head_;
};

std::map<std::string, torch::Tensor> parameter_map(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : module.named_parameters()) out.emplace(item.key(), item.value());
  return out;
}

// The tied decoder copies must equal what they are tied to.
void check_tied_copies(const tensor_io::SafetensorsFile& file) {
  auto check = [&](const std::string& copy, const std::vector<std::string>& originals) {
    if (!file.contains(copy)) return;
    for (const auto& original : originals) {
      if (!file.contains(original)) continue;
      MTDNN_INPUT_CHECK(torch::equal(file.tensor(copy), file.tensor(original)),
                        "{}: tensor '{}' differs from '{}': untied decoders are not supported",
                        file.path(), copy, original);
      return;
    }
  };
  check("cls.predictions.decoder.weight",
        {"bert.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight"});
  check("cls.predictions.decoder.bias", {"cls.predictions.bias"});
}

void load_file_strict(const std::map<std::string, torch::Tensor>& params,
                      const tensor_io::SafetensorsFile& file, const NameMapper& mapper) {
  check_tied_copies(file);
  NamedTensors tensors;
  std::vector<std::string> unexpected;
  std::map<std::string, std::string> origin;  // target -> file name, for messages
  for (const auto& name : file.names()) {
    auto target = mapper.map(name);
    if (!target) continue;
    if (!params.count(*target) || origin.count(*target)) {
      unexpected.push_back(name);
      continue;
    }
    origin[*target] = name;
    tensors.emplace_back(*target, file.tensor(name));
  }
  std::vector<std::string> problems;
  for (const auto& name : unexpected)
    problems.push_back(fmt::format("unexpected tensor '{}'", name));
  for (const auto& [target, tensor] : tensors) {
    const auto& param = params.at(target);
    if (param.sizes() != tensor.sizes())
      problems.push_back(fmt::format("tensor '{}' has shape {} but the model's '{}' is {}",
                                     origin[target], tensor_io::shape_of(tensor), target, tensor_io::shape_of(param)));
  }
  for (const auto& [name, param] : params)
    if (!origin.count(name)) problems.push_back(fmt::format("missing tensor '{}'", name));
  if (!problems.empty()) {
    throw InputError(fmt::format("{}: cannot load strictly: {}", file.path(),
                                 fmt::join(problems, "; ")));
  }
  copy_named_tensors_strict(params, tensors, file.path());
}

std::string weights_path(const std::string& dir) { return (fs::path(dir) / kWeightsFile).string(); }

void write_dir(const std::string& dir, const NamedTensors& tensors, const BertConfig& config) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  MTDNN_INPUT_CHECK(!ec, "{}: cannot create the export folder: {}", dir, ec.message());
  tensor_io::write_safetensors(weights_path(dir), tensors, kExportMetadata);
  write_bert_config(config, (fs::path(dir) / kConfigFile).string());
}

}  // namespace

void copy_named_tensors_strict(const std::map<std::string, torch::Tensor>& params,
                               const NamedTensors& tensors, const std::string& where) {
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    auto it = params.find(name);
    MTDNN_INPUT_CHECK(it != params.end(), "{}: unexpected tensor '{}'", where, name);
    MTDNN_INPUT_CHECK(seen.insert(name).second, "{}: tensor '{}' given twice", where, name);
    MTDNN_INPUT_CHECK(it->second.sizes() == tensor.sizes(),
                      "{}: tensor '{}' has shape {} but the model expects {}", where, name,
                      tensor_io::shape_of(tensor), tensor_io::shape_of(it->second));
  }
  for (const auto& [name, param] : params)
    MTDNN_INPUT_CHECK(seen.count(name), "{}: missing tensor '{}'", where, name);
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : tensors) params.at(name).copy_(tensor);
}

NamedTensors bert_state(const BertEncoderImpl& encoder) {
  NamedTensors out;
  for (const auto& item : encoder.named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

NamedTensors mtdnn_export_state(const MtdnnModelImpl& model) {
  const std::string mlm = single_head(model, HeadKind::kMaskedLm, "export");
  const std::string nsp = single_head(model, HeadKind::kNextSentence, "export");
  // With the pretraining heads the file is a BertForPreTraining (encoder under `bert.`);
  // without, a BertModel (encoder keys bare) with our task heads beside it.
  NamedTensors out;
  const std::string encoder_prefix = mlm.empty() ? "" : "bert.";
  for (auto& [name, tensor] : bert_state(*model.bert)) out.emplace_back(encoder_prefix + name, tensor);
  for (const auto& task : model.tasks())
    for (const TaskHeadImpl* head : model.heads_of(task)) {
      const std::string path = head_path(head->spec());
      const std::string prefix = path == mlm   ? "cls.predictions."
                                 : path == nsp ? "cls.seq_relationship."
                                               : "heads." + path + ".";
      for (const auto& item : head->named_parameters()) out.emplace_back(prefix + item.key(), item.value());
    }
  return out;
}

void load_hf_bert_into(BertEncoderImpl& encoder, const std::string& dir) {
  tensor_io::SafetensorsFile file(weights_path(dir));
  load_file_strict(parameter_map(encoder), file, NameMapper(nullptr, file.path()));
}

BertEncoder load_hf_bert(const std::string& dir, bool fused) {
  BertConfig config = read_bert_config((fs::path(dir) / kConfigFile).string());
  BertEncoder encoder(BertEncoderOptions(config).fused(fused));
  load_hf_bert_into(*encoder, dir);
  return encoder;
}

void load_mtdnn_model(MtdnnModelImpl& model, const std::string& safetensors_path) {
  tensor_io::SafetensorsFile file(safetensors_path);
  load_file_strict(parameter_map(model), file, NameMapper(&model, file.path()));
}

void load_hf_bert_into_model(MtdnnModelImpl& model, const std::string& dir) {
  load_hf_bert_into(*model.bert, dir);
}

std::vector<std::string> load_matching_heads_into_model(MtdnnModelImpl& model, const std::string& dir,
                                                        const std::vector<std::string>& tasks) {
  tensor_io::SafetensorsFile file(weights_path(dir));
  std::vector<std::string> loaded;
  for (const auto& task : tasks.empty() ? model.tasks() : tasks)
    for (TaskHeadImpl* head : model.heads_of(task)) {
      // Our own name, or Hugging Face's for the pretraining heads (BertForPreTraining).
      const std::string path = head_path(head->spec());
      std::vector<std::string> prefixes = {"heads." + path + "."};
      if (head->spec().kind == HeadKind::kMaskedLm) prefixes.push_back("cls.predictions.");
      if (head->spec().kind == HeadKind::kNextSentence) prefixes.push_back("cls.seq_relationship.");
      for (const auto& prefix : prefixes) {
        NamedTensors tensors;
        for (const auto& name : file.names())
          if (starts_with(name, prefix) && name != "cls.predictions.decoder.weight" &&
              name != "cls.predictions.decoder.bias")  // tied to the word embeddings and the bias
            tensors.emplace_back(name.substr(prefix.size()), file.tensor(name));
        if (tensors.empty()) continue;
        copy_named_tensors_strict(parameter_map(*head), tensors,
                                  fmt::format("{} (head of task '{}'{})", file.path(), task,
                                              head->spec().role.empty() ? "" : ", role " + head->spec().role));
        loaded.push_back(path);
        break;
      }
    }
  return loaded;
}

void export_hf_bert(const BertEncoderImpl& encoder, const std::string& dir) {
  write_dir(dir, bert_state(encoder), encoder.config());
}

void export_mtdnn_model(const MtdnnModelImpl& model, const std::string& dir) {
  write_dir(dir, mtdnn_export_state(model), model.options().config);
}

bool is_hf_buffer(const std::string& bert_key) {
  return bert_key == "embeddings.position_ids" || bert_key == "embeddings.token_type_ids";
}

}  // namespace mtdnn::worker
