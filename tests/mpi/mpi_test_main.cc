// main() of the multi-rank test binary: MPI is initialised once for all tests; ctest
// runs the binary under mpirun with 1, 2 and 3 ranks (tests/CMakeLists.txt). Only rank 0
// prints GoogleTest's report; the other ranks print each failed assertion with their rank
// and the test's name, and a failure on any rank fails every rank's exit status.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "mpi_test_support.h"

namespace mtdnn::test {
namespace {
comm::MpiContext* g_mpi = nullptr;
}  // namespace

// A rank other than 0: its failures, named, on stderr (mpirun forwards them).
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  // The test's name is taken here: GoogleTest holds its lock while it reports a result.
  void OnTestStart(const ::testing::TestInfo& test) override {
    test_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "rank %d: [  FAILED  ] %s\n%s:%d: %s\n", rank_, test_.c_str(),
                 result.file_name() ? result.file_name() : "?", result.line_number(), result.message());
  }

 private:
  int rank_;
  std::string test_;
};
comm::MpiContext& mpi() { return *g_mpi; }
}  // namespace mtdnn::test

int main(int argc, char** argv) {
  mtdnn::comm::MpiContext mpi(&argc, &argv);
  mtdnn::test::g_mpi = &mpi;
  ::testing::InitGoogleTest(&argc, argv);
  if (mpi.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new mtdnn::test::RankFailurePrinter(mpi.rank()));
  }
  int rc = RUN_ALL_TESTS();
  // A rank whose test failed tells the others, so that every rank exits with the failure.
  auto all = mpi.allgather(static_cast<int64_t>(rc));
  for (auto r : all) rc = rc ? rc : static_cast<int>(r);
  return rc;
}
