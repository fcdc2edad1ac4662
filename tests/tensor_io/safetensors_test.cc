// safetensors: round trips for every dtype, the reference byte layout (order, padding,
// metadata), zero-copy reads, and corrupt files rejected with the file and tensor named.
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/error.h"
#include "test_support.h"
#include "tensor_io/safetensors.h"

namespace mtdnn::tensor_io {
namespace {

using ::mtdnn::test::read_file;
using ::mtdnn::test::ScratchDir;
using ::mtdnn::test::write_file;

std::string header_of(const std::string& bytes) {
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return bytes.substr(8, n);
}

TEST(Safetensors, RoundTripsEveryDtype) {
  ScratchDir dir("st-dtypes");
  std::vector<std::pair<std::string, torch::Tensor>> in = {
      {"f32", torch::randn({3, 4})},
      {"f64", torch::randn({2}, torch::kDouble)},
      {"f16", torch::randn({5}).to(torch::kHalf)},
      {"bf16", torch::randn({2, 3}).to(torch::kBFloat16)},
      {"i64", torch::arange(7, torch::kLong)},
      {"i32", torch::arange(3, torch::kInt)},
      {"i16", torch::arange(3, torch::kShort)},
      {"i8", torch::arange(-2, 3, torch::kChar)},
      {"u8", torch::arange(9, torch::kByte)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.5f)},
      {"empty", torch::zeros({0, 4})},
      {"strided", torch::randn({4, 6}).t()},  // non-contiguous input
  };
  const auto path = (dir / "all.safetensors").string();
  write_safetensors(path, in, {{"format", "pt"}, {"who", "test"}});
  SafetensorsFile f(path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("who"), "test");
  EXPECT_EQ(f.names().size(), in.size());
  for (const auto& [name, t] : in) {
    auto r = f.tensor(name);
    EXPECT_EQ(r.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(r.sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(r, t)) << name;
  }
  EXPECT_EQ(f.entry("bf16").dtype, "BF16");
  EXPECT_EQ(f.entry("scalar").shape.size(), 0u);
}

TEST(Safetensors, WritesTheReferenceLayout) {
  ScratchDir dir("st-layout");
  const auto path = (dir / "l.safetensors").string();
  write_safetensors(path,
                    {{"b", torch::zeros({2}, torch::kHalf)},
                     {"a", torch::zeros({1}, torch::kHalf)},
                     {"z", torch::zeros({3})},
                     {"ids", torch::zeros({1}, torch::kLong)}},
                    {{"format", "pt"}});
  const std::string bytes = read_file(path);
  const std::string header = header_of(bytes);
  EXPECT_EQ(header.size() % 8, 0u);
  // Larger alignment first (I64, F32, F16), then by name; compact JSON, space padding.
  const std::string expected =
      R"({"__metadata__":{"format":"pt"},"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
      R"("z":{"dtype":"F32","shape":[3],"data_offsets":[8,20]},)"
      R"("a":{"dtype":"F16","shape":[1],"data_offsets":[20,22]},)"
      R"("b":{"dtype":"F16","shape":[2],"data_offsets":[22,26]}})";
  EXPECT_EQ(header.substr(0, expected.size()), expected);
  EXPECT_EQ(header.substr(expected.size()), std::string(header.size() - expected.size(), ' '));
  EXPECT_EQ(bytes.size(), 8 + header.size() + 26);
}

TEST(Safetensors, GoldenFileRewritesByteForByte) {
  // The golden script's writer is independent Python: our reader + writer reproduce it.
  ScratchDir dir("st-golden");
  const auto golden = ::mtdnn::test::source_dir() / "tests/worker/golden/tiny/model.safetensors";
  SafetensorsFile f(golden.string());
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& name : f.names()) tensors.emplace_back(name, f.tensor(name));
  write_safetensors((dir / "copy.safetensors").string(), tensors, f.metadata());
  EXPECT_EQ(read_file(dir / "copy.safetensors"), read_file(golden));
}

TEST(Safetensors, TensorsAliasTheMappingCopyOnWrite) {
  ScratchDir dir("st-zero-copy");
  const auto path = (dir / "z.safetensors").string();
  write_safetensors(path, {{"x", torch::arange(16, torch::kFloat)}});
  const std::string before = read_file(path);
  torch::Tensor t;
  {
    SafetensorsFile f(path);
    auto a = f.tensor("x");
    auto b = f.tensor("x");
    EXPECT_EQ(a.data_ptr(), b.data_ptr()) << "two reads of one tensor share the mapping";
    t = a;
  }  // the file object is gone; the tensor keeps the mapping alive
  EXPECT_FLOAT_EQ(t[15].item<float>(), 15.0f);
  t.mul_(2);  // private mapping: the file does not change
  EXPECT_FLOAT_EQ(t[15].item<float>(), 30.0f);
  EXPECT_EQ(read_file(path), before);
}

std::string make_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

void expect_rejected(const std::string& bytes, const std::string& fragment) {
  ScratchDir dir("st-bad");
  const auto path = dir / "bad.safetensors";
  write_file(path, bytes);
  try {
    SafetensorsFile f(path.string());
    ADD_FAILURE() << "accepted a file that should fail with: " << fragment;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Safetensors, RejectsCorruptFiles) {
  const std::string four(4, '\0'), eight(8, '\0');
  expect_rejected("abc", "too short");
  expect_rejected(std::string("\xff\xff\xff\xff\xff\xff\x00\x00", 8) + "{}", "header length");
  expect_rejected(make_file("{not json", ""), "not valid JSON");
  expect_rejected(make_file("[1]", ""), "JSON object");
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", four),
                  "tensor 'w'");
  expect_rejected(make_file(R"({"w":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}})", four),
                  "unsupported dtype 'Q9'");
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", ""),
                  "fall outside");
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[1]}})", four), "tensor 'w'");
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four),
                  "bad dimension");
  expect_rejected(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                            four),
                  "overlapping");
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight),
                  "trailing");
  expect_rejected(make_file(R"({"__metadata__":{"k":1}})", ""), "__metadata__");
}

TEST(Safetensors, MissingTensorIsNamed) {
  ScratchDir dir("st-missing");
  const auto path = (dir / "m.safetensors").string();
  write_safetensors(path, {{"x", torch::zeros({1})}});
  SafetensorsFile f(path);
  try {
    f.tensor("y");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'y'"), std::string::npos);
  }
}

}  // namespace
}  // namespace mtdnn::tensor_io
