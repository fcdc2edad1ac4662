// main() of the multi-rank test binary: MPI is initialised once for all tests; ctest
// runs the binary under mpirun with 1, 2 and 3 ranks (tests/CMakeLists.txt). Only rank 0
// prints GoogleTest's report; a failure on any rank fails that rank's exit status.
#include <gtest/gtest.h>

#include "mpi_test_support.h"

namespace mtdnn::test {
namespace {
comm::MpiContext* g_mpi = nullptr;
}
comm::MpiContext& mpi() { return *g_mpi; }
}  // namespace mtdnn::test

int main(int argc, char** argv) {
  mtdnn::comm::MpiContext mpi(&argc, &argv);
  mtdnn::test::g_mpi = &mpi;
  ::testing::InitGoogleTest(&argc, argv);
  if (mpi.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int rc = RUN_ALL_TESTS();
  // A rank whose test failed tells the others, so that every rank exits with the failure.
  auto all = mpi.allgather(static_cast<int64_t>(rc));
  for (auto r : all) rc = rc ? rc : static_cast<int>(r);
  return rc;
}
