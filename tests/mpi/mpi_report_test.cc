// The multi-rank binary's own report: a failure on a rank other than 0 shows its message.
// Disabled in the normal runs; ctest's mpi.rank_failure_is_reported runs it on two ranks
// and expects rank 1's line (tests/CMakeLists.txt).
#include <gtest/gtest.h>

#include "mpi_test_support.h"

namespace mtdnn::test {
namespace {

TEST(MpiReport, DISABLED_FailureOnRank1) {
  EXPECT_NE(mpi().rank(), 1) << "the message of rank 1's failure";
}

}  // namespace
}  // namespace mtdnn::test
