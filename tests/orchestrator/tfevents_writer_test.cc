// TensorBoard's record framing and Event encoding, byte for byte against values computed
// by hand from the format's definition; the scalars a metrics record becomes.
// (tests/scripts/tensorboard_check.py reads real runs' files with TensorBoard itself.)
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "orchestrator/metrics_log.h"
#include "orchestrator/tfevents_writer.h"
#include "test_support.h"

namespace mtdnn::orchestrator {
namespace {

uint32_t u32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}

TEST(TfEvents, MaskedCrc32cOfTheStandardCheckString) {
  // CRC-32C("123456789") = 0xE3069283 (RFC 3720's check value), masked: rotated right by 15
  // bits plus 0xa282ead8.
  EXPECT_EQ(masked_crc32c("123456789"), 0xc78ab0e5u);
}

TEST(TfEvents, RecordFramesLengthDataAndChecksums) {
  const std::string r = tf_record("abc");
  ASSERT_EQ(r.size(), 8u + 4 + 3 + 4);
  uint64_t length;
  std::memcpy(&length, r.data(), 8);
  EXPECT_EQ(length, 3u);
  EXPECT_EQ(u32(r, 8), masked_crc32c(r.substr(0, 8)));
  EXPECT_EQ(r.substr(12, 3), "abc");
  EXPECT_EQ(u32(r, 15), masked_crc32c("abc"));
}

TEST(TfEvents, ScalarEventEncoding) {
  // Event{wall_time: 2.0 (field 1, fixed64), step: 300 (field 2, varint 0xac 0x02),
  //       summary (field 5): Summary{value (field 1): Value{tag "a/b" (field 1), simple_value 0.5 (field 2)}}}
  const std::string e = scalar_event({{"a/b", 0.5f}}, 300, 2.0);
  const std::string want = std::string("\x09\x00\x00\x00\x00\x00\x00\x00\x40", 9) + "\x10\xac\x02" +
                           std::string("\x2a\x0c\x0a\x0a\x0a\x03" "a/b" "\x15\x00\x00\x00\x3f", 14);
  EXPECT_EQ(e, want);
  EXPECT_NE(file_version_event(1.0).find("brain.Event:2"), std::string::npos);
}

TEST(TfEvents, WriterStartsWithTheFileVersion) {
  test::ScratchDir dir("tfevents");
  std::string path;
  {
    TfEventsWriter w((dir / "tb").string());
    w.add_scalars({{"train/loss", 1.25f}}, 1, 3.0);
    path = w.path();
  }
  EXPECT_NE(std::filesystem::path(path).filename().string().rfind("events.out.tfevents.", 0), std::string::npos);
  const std::string bytes = test::read_file(path);
  uint64_t first;
  std::memcpy(&first, bytes.data(), 8);
  EXPECT_NE(bytes.substr(12, first).find("brain.Event:2"), std::string::npos);
  const std::string second = tf_record(scalar_event({{"train/loss", 1.25f}}, 1, 3.0));
  EXPECT_EQ(bytes.substr(bytes.size() - second.size()), second);
}

TEST(TfEvents, ScalarsOfMetricsRecords) {
  nlohmann::ordered_json train = {{"type", "train"}, {"step", 5}, {"loss", 0.5}, {"loss_avg", 0.75}, {"lr", 1e-4},
                                  {"grad_norm", nullptr}, {"examples", 10}, {"eta_s", 30}};
  const auto t = tensorboard_scalars(train);
  EXPECT_EQ(t, (std::vector<std::pair<std::string, float>>{
                   {"train/loss", 0.5f}, {"train/loss_avg", 0.75f}, {"train/lr", 1e-4f}, {"train/eta_s", 30.f}}));
  nlohmann::ordered_json eval = {{"type", "eval"}, {"step", 12}, {"epoch", 2}, {"task", "mrpc"}, {"split", "dev"},
                                 {"examples", 408}, {"ACC", 81.25}, {"F1", nullptr}, {"seconds", 1.5}};
  EXPECT_EQ(tensorboard_scalars(eval), (std::vector<std::pair<std::string, float>>{{"mrpc/dev/ACC", 81.25f}}));
}

}  // namespace
}  // namespace mtdnn::orchestrator
