// Hugging Face interop: the golden model.safetensors round-trips bit-exactly; strict
// loading names every missing, unexpected and mis-shaped tensor; accepted prefixes and
// documented extras (bert., scoring_list.N., cls.*, position_ids); whole-model export.
#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "golden_util.h"
#include "test_support.h"
#include "worker/hf_interop.h"
#include "tensor_io/safetensors.h"

namespace mtdnn::worker {
namespace {

namespace fs = std::filesystem;
using ::mtdnn::test::read_file;
using ::mtdnn::test::ScratchDir;
using test::golden_dir;

NamedTensors golden_tensors() { return tensor_io::read_safetensors((golden_dir("tiny") / "model.safetensors").string()); }

// A BERT directory with the golden config and the given tensors.
void write_bert_dir(const fs::path& dir, const NamedTensors& tensors) {
  fs::create_directories(dir);
  fs::copy_file(golden_dir("tiny") / "config.json", dir / "config.json");
  tensor_io::write_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
}

std::string load_error(const fs::path& dir) {
  try {
    load_hf_bert(dir.string());
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(HfInterop, GoldenModelRoundTripsBitExactly) {
  ScratchDir dir("hf-roundtrip");
  auto encoder = load_hf_bert(golden_dir("tiny").string());
  export_hf_bert(*encoder, (dir / "out").string());
  EXPECT_EQ(read_file(dir / "out" / "model.safetensors"),
            read_file(golden_dir("tiny") / "model.safetensors"));
  BertConfig exported = read_bert_config((dir / "out" / "config.json").string());
  BertConfig original = read_bert_config((golden_dir("tiny") / "config.json").string());
  EXPECT_EQ(exported.vocab_size, original.vocab_size);
  EXPECT_EQ(exported.num_hidden_layers, original.num_hidden_layers);
  EXPECT_EQ(exported.hidden_size, original.hidden_size);
  EXPECT_EQ(exported.intermediate_size, original.intermediate_size);
  EXPECT_EQ(exported.max_position_embeddings, original.max_position_embeddings);
}

TEST(HfInterop, MissingTensorIsNamed) {
  ScratchDir dir("hf-missing");
  auto tensors = golden_tensors();
  tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                               [](const auto& t) { return t.first == "encoder.layer.1.output.dense.bias"; }),
                tensors.end());
  write_bert_dir(dir / "m", tensors);
  const std::string err = load_error(dir / "m");
  EXPECT_NE(err.find("missing tensor 'encoder.layer.1.output.dense.bias'"), std::string::npos) << err;
  EXPECT_NE(err.find("model.safetensors"), std::string::npos) << err;
}

TEST(HfInterop, UnexpectedTensorIsNamed) {
  ScratchDir dir("hf-unexpected");
  auto tensors = golden_tensors();
  tensors.emplace_back("encoder.layer.7.output.dense.bias", torch::zeros({32}));
  write_bert_dir(dir / "m", tensors);
  const std::string err = load_error(dir / "m");
  EXPECT_NE(err.find("unexpected tensor 'encoder.layer.7.output.dense.bias'"), std::string::npos) << err;
}

TEST(HfInterop, MisShapedTensorIsNamed) {
  ScratchDir dir("hf-shape");
  auto tensors = golden_tensors();
  for (auto& [name, t] : tensors)
    if (name == "pooler.dense.weight") t = torch::zeros({32, 16});
  write_bert_dir(dir / "m", tensors);
  const std::string err = load_error(dir / "m");
  EXPECT_NE(err.find("tensor 'pooler.dense.weight' has shape (32, 16)"), std::string::npos) << err;
  EXPECT_NE(err.find("(32, 32)"), std::string::npos) << err;
}

TEST(HfInterop, FailedLoadLeavesTheModelUntouched) {
  ScratchDir dir("hf-atomic");
  auto tensors = golden_tensors();
  for (auto& [name, t] : tensors) t = torch::zeros_like(t);
  tensors.pop_back();
  write_bert_dir(dir / "m", tensors);
  auto encoder = load_hf_bert(golden_dir("tiny").string());
  auto before = encoder->named_parameters()["embeddings.word_embeddings.weight"].clone();
  EXPECT_THROW(load_hf_bert_into(*encoder, (dir / "m").string()), InputError);
  EXPECT_TRUE(torch::equal(encoder->named_parameters()["embeddings.word_embeddings.weight"], before));
}

TEST(HfInterop, AcceptsBertPrefixAndIgnoresDocumentedExtras) {
  ScratchDir dir("hf-prefix");
  NamedTensors tensors;
  for (const auto& [name, t] : golden_tensors()) tensors.emplace_back("bert." + name, t);
  tensors.emplace_back("bert.embeddings.position_ids", torch::arange(64, torch::kLong).unsqueeze(0));
  tensors.emplace_back("cls.predictions.bias", torch::zeros({100}));
  tensors.emplace_back("cls.predictions.transform.dense.weight", torch::zeros({32, 32}));
  tensors.emplace_back("cls.seq_relationship.weight", torch::zeros({2, 32}));
  write_bert_dir(dir / "m", tensors);
  auto encoder = load_hf_bert((dir / "m").string());
  auto golden = load_hf_bert(golden_dir("tiny").string());
  auto gp = golden->named_parameters();
  for (const auto& item : encoder->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), gp[item.key()])) << item.key();
}

TEST(HfInterop, HalfPrecisionFilesLoadIntoFloatParameters) {
  ScratchDir dir("hf-half");
  NamedTensors tensors;
  for (const auto& [name, t] : golden_tensors()) tensors.emplace_back(name, t.to(torch::kBFloat16));
  write_bert_dir(dir / "m", tensors);
  auto encoder = load_hf_bert((dir / "m").string());
  auto w = encoder->named_parameters()["pooler.dense.weight"];
  EXPECT_EQ(w.scalar_type(), torch::kFloat);
  for (const auto& [name, t] : tensors)
    if (name == "pooler.dense.weight") EXPECT_TRUE(torch::equal(w, t.to(torch::kFloat)));
}

TEST(HfInterop, ModelExportImportRoundTripAndMtDnnNames) {
  ScratchDir dir("hf-model");
  auto model = test::golden_model("tiny");
  export_mtdnn_model(*model, (dir / "export").string());
  tensor_io::SafetensorsFile f((dir / "export" / "model.safetensors").string());
  // The golden model has the pretraining heads: a BertForPreTraining file (encoder under bert.).
  EXPECT_TRUE(f.contains("bert.encoder.layer.0.attention.self.query.weight"));
  EXPECT_FALSE(f.contains("encoder.layer.0.attention.self.query.weight"));
  EXPECT_TRUE(f.contains("heads.san.rnn.weight_ih"));
  EXPECT_TRUE(f.contains("cls.predictions.transform.LayerNorm.bias")) << "MLM head under HF's name";
  EXPECT_TRUE(f.contains("cls.seq_relationship.weight")) << "NSP head under HF's name";
  // Into a fresh model: every parameter comes back exactly.
  MtdnnModel fresh(test::golden_model_options("tiny"));
  load_mtdnn_model(*fresh, f.path());
  auto a = model->named_parameters();
  for (const auto& item : fresh->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), a[item.key()])) << item.key();
  // mt-dnn's names: bert.<key> and scoring_list.<task id>.<key>.
  NamedTensors mtdnn;
  for (const auto& item : model->named_parameters()) {
    std::string name = item.key();
    for (size_t i = 0; i < model->tasks().size(); ++i) {
      const std::string prefix = "heads." + model->tasks()[i] + ".";
      if (name.rfind(prefix, 0) == 0) name = "scoring_list." + std::to_string(i) + "." + name.substr(prefix.size());
    }
    mtdnn.emplace_back(name, item.value());
  }
  tensor_io::write_safetensors((dir / "mtdnn.safetensors").string(), mtdnn);
  MtdnnModel other(test::golden_model_options("tiny"));
  load_mtdnn_model(*other, (dir / "mtdnn.safetensors").string());
  for (const auto& item : other->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), a[item.key()])) << item.key();
  // A head index beyond the model's tasks is unexpected, and named.
  mtdnn.emplace_back("scoring_list.9.weight", torch::zeros({2, 32}));
  tensor_io::write_safetensors((dir / "bad.safetensors").string(), mtdnn);
  try {
    load_mtdnn_model(*other, (dir / "bad.safetensors").string());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected tensor 'scoring_list.9.weight'"), std::string::npos)
        << e.what();
  }
}

// A MaskLM task (heads mlm and nsp under one task) beside a classification task: the
// export is Hugging Face's BertForPreTraining layout and comes back bit-exactly; a
// BertForPreTraining file alone gives a fresh model its pretraining heads.
TEST(HfInterop, MaskLmTaskExportsAsBertForPreTrainingAndComesBack) {
  ScratchDir dir("hf-pretraining");
  MtdnnModelOptions options = test::golden_model_options("tiny");
  options.heads.clear();
  HeadSpec cls;
  cls.task = "cola";
  options.heads.push_back(cls);
  HeadSpec mlm;
  mlm.task = "wiki";
  mlm.role = "mlm";
  mlm.kind = HeadKind::kMaskedLm;
  options.heads.push_back(mlm);
  HeadSpec nsp = mlm;
  nsp.role = "nsp";
  nsp.kind = HeadKind::kNextSentence;
  options.heads.push_back(nsp);
  MtdnnModel model(options);
  EXPECT_EQ(model->tasks(), (std::vector<std::string>{"cola", "wiki"}));
  EXPECT_EQ(model->heads_of("wiki").size(), 2u);
  const auto params = model->named_parameters();
  EXPECT_TRUE(params.contains("heads.wiki.mlm.transform.dense.weight"));
  EXPECT_TRUE(params.contains("heads.wiki.nsp.weight"));

  export_mtdnn_model(*model, (dir / "export").string());
  tensor_io::SafetensorsFile f((dir / "export" / "model.safetensors").string());
  for (const char* name : {"bert.embeddings.word_embeddings.weight", "bert.pooler.dense.weight",
                           "cls.predictions.bias", "cls.predictions.transform.dense.weight",
                           "cls.predictions.transform.LayerNorm.weight", "cls.seq_relationship.weight",
                           "cls.seq_relationship.bias", "heads.cola.weight"})
    EXPECT_TRUE(f.contains(name)) << name;
  EXPECT_FALSE(f.contains("cls.predictions.decoder.weight")) << "tied to the word embeddings";
  MtdnnModel back(options);
  load_mtdnn_model(*back, f.path());
  for (const auto& item : back->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), params[item.key()])) << item.key();

  // Only the encoder and cls.* (what Hugging Face writes): the heads come along by kind.
  NamedTensors hf;
  for (const auto& name : f.names())
    if (name.rfind("heads.", 0) != 0) hf.emplace_back(name, f.tensor(name));
  fs::create_directories(dir / "hf");
  fs::copy_file(dir / "export" / "config.json", dir / "hf" / "config.json");
  tensor_io::write_safetensors((dir / "hf" / "model.safetensors").string(), hf, {{"format", "pt"}});
  MtdnnModel fresh(options);
  load_hf_bert_into_model(*fresh, (dir / "hf").string());
  EXPECT_EQ(load_matching_heads_into_model(*fresh, (dir / "hf").string()),
            (std::vector<std::string>{"wiki.mlm", "wiki.nsp"}));
  const auto loaded = fresh->named_parameters();
  for (const char* name : {"heads.wiki.mlm.transform.dense.weight", "heads.wiki.mlm.bias", "heads.wiki.nsp.weight",
                           "bert.encoder.layer.0.output.dense.weight"})
    EXPECT_TRUE(torch::equal(loaded[name], params[name])) << name;
  EXPECT_FALSE(torch::equal(loaded["heads.cola.weight"], params["heads.cola.weight"])) << "not in the file: fresh";
}

TEST(HfInterop, HeadsLoadByTaskNameAndTheOthersStayFresh) {
  ScratchDir dir("hf-heads");
  auto trained = test::golden_model("tiny");
  export_mtdnn_model(*trained, (dir / "export").string());
  // The file without the SAN task's head: that task must keep its fresh head.
  NamedTensors partial;
  for (auto& [name, tensor] : tensor_io::read_safetensors((dir / "export" / "model.safetensors").string()))
    if (name.rfind("heads.san.", 0) != 0) partial.emplace_back(name, tensor);
  write_bert_dir(dir / "partial", partial);

  torch::manual_seed(99);
  MtdnnModel fresh(test::golden_model_options("tiny"));
  std::map<std::string, torch::Tensor> before;
  for (const auto& item : fresh->named_parameters()) before[item.key()] = item.value().clone();
  const auto loaded = load_matching_heads_into_model(*fresh, (dir / "partial").string());
  EXPECT_EQ(std::count(loaded.begin(), loaded.end(), "san"), 0);
  EXPECT_FALSE(loaded.empty());
  auto want = trained->named_parameters();
  for (const auto& item : fresh->named_parameters()) {
    const std::string& name = item.key();
    bool from_file = false;
    for (const auto& task : loaded) from_file = from_file || name.rfind("heads." + task + ".", 0) == 0;
    if (from_file)
      EXPECT_TRUE(torch::equal(item.value(), want[name])) << name << " was not loaded";
    else
      EXPECT_TRUE(torch::equal(item.value(), before[name])) << name << " changed (encoder or a fresh head)";
  }

  // A head whose shape differs (another number of classes) is an error naming task and tensor.
  const std::string task = loaded.front();
  NamedTensors bad;
  for (auto& [name, tensor] : partial) {
    if (name.rfind("heads." + task + ".", 0) == 0 && tensor.dim() == 2)
      bad.emplace_back(name, torch::zeros({tensor.size(0) + 1, tensor.size(1)}));
    else
      bad.emplace_back(name, tensor);
  }
  write_bert_dir(dir / "bad", bad);
  try {
    load_matching_heads_into_model(*fresh, (dir / "bad").string());
    FAIL() << "a mis-shaped head was loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("head of task '" + task + "'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("has shape"), std::string::npos) << e.what();
  }
}

TEST(HfInterop, UntiedDecoderIsRefused) {
  ScratchDir dir("hf-untied");
  auto model = test::golden_model("tiny");
  NamedTensors tensors = mtdnn_export_state(*model);
  tensors.emplace_back("cls.predictions.decoder.weight", torch::zeros({100, 32}));
  tensor_io::write_safetensors((dir / "m.safetensors").string(), tensors);
  try {
    load_mtdnn_model(*model, (dir / "m.safetensors").string());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cls.predictions.decoder.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mtdnn::worker
