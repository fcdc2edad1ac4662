// Stop requests: a delivered SIGUSR1 or SIGTERM sets the flag instead of ending the process.
#include <gtest/gtest.h>

#include <csignal>

#include "orchestrator/stop_request.h"

namespace mtdnn::orchestrator {
namespace {

TEST(StopRequest, SignalsSetTheFlagAndNameTheSignal) {
  install_stop_handlers();
  reset_stop_request();
  EXPECT_FALSE(stop_requested());
  ASSERT_EQ(std::raise(SIGUSR1), 0);
  EXPECT_TRUE(stop_requested());
  EXPECT_EQ(stop_signal_name(), "SIGUSR1");
  reset_stop_request();
  ASSERT_EQ(std::raise(SIGTERM), 0);  // would end the test binary without the handler
  EXPECT_EQ(stop_signal_name(), "SIGTERM");
  reset_stop_request();
  EXPECT_FALSE(stop_requested());
}

}  // namespace
}  // namespace mtdnn::orchestrator
