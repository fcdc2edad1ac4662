// Each of RoundProtocol's steps issues the collectives that kStepCollectives lists for it,
// filed under its name (one process, a recording plane over the local one).
#include <gtest/gtest.h>

#include "comm/round_protocol.h"
#include "recording_plane.h"

namespace mtdnn::comm {
namespace {

TEST(RoundProtocol, EveryStepIssuesTheCollectivesOfItsTableEntry) {
  auto local = make_local_control_plane();
  test::RecordingPlane plane(*local);
  RoundProtocol protocol(plane);
  protocol.agree_config("{}");
  protocol.agree_execution("cpu fp32");
  protocol.agree_initial_weights(1);
  protocol.choose_checkpoint("");
  protocol.agree_restored_state("ckpt-3", 2);
  protocol.start_epoch(0, 7);
  protocol.verify_schedule(0, 3, 9);
  protocol.exchange_plan(RoundPlan{});
  EXPECT_EQ(protocol.sum_target_counts({2, 3}), (std::vector<double>{2, 3}));
  protocol.reduce_stats(RoundStats{});
  EXPECT_EQ(protocol.gather_predictions("p"), std::vector<std::string>{"p"});
  const std::string cuda = "g";
  EXPECT_EQ(protocol.gather_generator_states("c", nullptr).cuda.size(), 0u);
  EXPECT_EQ(protocol.gather_generator_states("c", &cuda).cuda, std::vector<std::string>{"g"});
  protocol.finish();
  std::vector<test::RecordingPlane::Call> want =
      test::calls_of({"S1", "S1", "S2", "S3", "S4", "E1", "E2", "R1", "R3", "R4", "R6", "C1", "C1"});
  want.push_back({"C1", Collective::kAllgather});  // a GPU's device generators
  for (const auto& c : test::calls_of({"F3"})) want.push_back(c);
  EXPECT_EQ(test::transcript(plane.calls()), test::transcript(want));
  EXPECT_THROW(step_collectives("R9"), CommError);
}

}  // namespace
}  // namespace mtdnn::comm
