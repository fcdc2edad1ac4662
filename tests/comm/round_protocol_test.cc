// The round protocol's messages in one process: round trips, versions, the named record of
// the round statistics, and the one-process control plane.
#include <gtest/gtest.h>

#include "comm/round_protocol.h"

namespace mtdnn::comm {
namespace {

TEST(RoundProtocol, MessagesRoundTripAndCheckTheVersion) {
  RoundPlan p;
  p.step = 123456789012;
  p.epoch = 4;
  p.index = 77;
  p.task = 3;
  p.log = true;
  p.stop = true;
  RoundPlan q = decode_round_plan(encode(p));
  EXPECT_EQ(q.step, p.step);
  EXPECT_EQ(q.epoch, 4);
  EXPECT_EQ(q.index, 77);
  EXPECT_EQ(q.task, 3);
  EXPECT_TRUE(q.log && q.stop && !q.eval && !q.checkpoint);
  p.stop = false;
  p.checkpoint = true;
  q = decode_round_plan(encode(p));
  EXPECT_TRUE(q.log && !q.stop && !q.eval && q.checkpoint);
  p.checkpoint = false;
  p.version = kRoundProtocolVersion + 1;
  try {
    decode_round_plan(encode(p));
    FAIL() << "no error";
  } catch (const CommError& e) {
    const std::string expected = fmt::format("round plan version {}, this rank speaks {}", kRoundProtocolVersion + 1,
                                             kRoundProtocolVersion);
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
  EXPECT_THROW(decode_epoch_message("abc"), CommError);
  EpochMessage m{kRoundProtocolVersion, 9, 0xfeedfacecafebeefull};
  EXPECT_EQ(decode_epoch_message(encode(m)).seed, m.seed);
}

TEST(RoundProtocol, RoundStatsTravelAsANamedVersionedRecord) {
  RoundStats s;
  s.loss_sum = 1.5;
  s.items = 3;
  s.examples = 4;
  s.real_tokens = 50;
  s.nonfinite = 1;
  s.stop_signal = 0;
  s.grad_norm = 2.25;
  std::vector<double> wire = encode(s);
  ASSERT_EQ(wire.size(), kRoundStatsFields.size() + 2);
  // Summed fields first: one all-reduce sums a prefix and takes the maximum of the rest.
  bool seen_max = false;
  for (const auto& f : kRoundStatsFields) {
    if (f.reduction == Reduction::kMax) seen_max = true;
    EXPECT_FALSE(seen_max && f.reduction == Reduction::kSum) << f.name << " is summed after a maximum";
  }
  std::vector<std::string> names;
  for (const auto& f : kRoundStatsFields) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"loss_sum", "items", "examples", "real_tokens", "nonfinite",
                                             "stop_signal", "grad_norm", "compute_s"}));
  RoundStats t = decode_round_stats(wire);
  EXPECT_EQ(t.loss_sum, 1.5);
  EXPECT_EQ(t.real_tokens, 50);
  EXPECT_EQ(t.nonfinite, 1);
  EXPECT_EQ(t.grad_norm, 2.25);
  // After the reduction a rank of another version shows as a highest or lowest version.
  std::vector<double> other = wire;
  other[other.size() - 2] = kRoundProtocolVersion + 1;
  try {
    decode_round_stats(other);
    FAIL() << "no error";
  } catch (const CommError& e) {
    const std::string expected = fmt::format("ranks speak protocol versions {} to {}, this rank speaks {}",
                                             kRoundProtocolVersion, kRoundProtocolVersion + 1, kRoundProtocolVersion);
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
  wire.pop_back();
  EXPECT_THROW(decode_round_stats(wire), CommError);
}

TEST(RoundProtocol, OneProcessPlaneRunsEveryStepLocally) {
  auto plane = make_local_control_plane();
  RoundProtocol protocol(*plane);
  EXPECT_EQ(protocol.choose_checkpoint("ckpt"), "ckpt");
  EXPECT_EQ(protocol.start_epoch(2, 77), 77u);
  RoundPlan mine;
  mine.step = 5;
  mine.eval = true;
  EXPECT_TRUE(protocol.exchange_plan(mine).eval);
  RoundStats s;
  s.items = 2;
  EXPECT_EQ(protocol.reduce_stats(s).items, 2);
}

}  // namespace
}  // namespace mtdnn::comm
