// The deadline of every collective (--comm-timeout, comm/comm_deadline.h) firing under
// mpirun: the last rank arrives 3 s late at a control-plane collective and at a gradient
// all-reduce of the MPI backend, with a deadline of 0.5 s. Every other rank reports once,
// naming the protocol step and the collective (control plane) or the reduction (gradient
// backend); its census names the late rank as not answering and the other waiting ranks
// with where they wait; the late rank reports nothing. The recording
// handler returns, so each collective then completes with the right sum.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "comm/comm_deadline.h"
#include "comm/control_plane.h"
#include "comm/grad_comm.h"
#include "mpi_test_support.h"

namespace mtdnn::comm {
namespace {

// Records the reports of one test (from any thread) and restores the process's handler and
// the context's deadline afterwards.
class RecordedTimeouts {
 public:
  RecordedTimeouts(MpiContext& mpi, double timeout_s) : mpi_(mpi), old_timeout_(mpi.timeout_s()) {
    mpi_.set_timeout(timeout_s);
    old_handler_ = set_comm_timeout_handler([this](const std::string& report) {
      std::lock_guard<std::mutex> lock(mutex_);
      reports_.push_back(report);
    });
  }
  ~RecordedTimeouts() {
    set_comm_timeout_handler(old_handler_);
    mpi_.set_timeout(old_timeout_);
  }
  std::vector<std::string> reports() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reports_;
  }

 private:
  MpiContext& mpi_;
  double old_timeout_;
  CommTimeoutHandler old_handler_;
  std::mutex mutex_;
  std::vector<std::string> reports_;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(CommDeadline, ControlPlaneReportsTheStepTheCollectiveAndTheLateRank) {
  MpiContext& mpi = test::mpi();
  if (mpi.size() < 2) GTEST_SKIP() << "needs a late rank and a waiting one";
  const int late = mpi.size() - 1;
  std::vector<std::string> reports;
  {
    RecordedTimeouts recorded(mpi, 0.5);
    auto plane = make_mpi_control_plane(mpi);
    plane->begin_step("R9");
    if (mpi.rank() == late) std::this_thread::sleep_for(std::chrono::seconds(3));
    std::vector<double> values = {1.0, static_cast<double>(mpi.rank())};
    plane->allreduce(&values, 1);  // a sum, then a maximum
    EXPECT_EQ(values[0], mpi.size());
    EXPECT_EQ(values[1], late);
    reports = recorded.reports();
    plane->begin_step("test");
  }
  if (mpi.rank() == late) {
    EXPECT_TRUE(reports.empty()) << reports.front();
  } else {
    ASSERT_EQ(reports.size(), 1u);
    const std::string& r = reports.front();
    EXPECT_TRUE(contains(r, fmt::format("rank {}: R9 allreduce: no progress after", mpi.rank()))) << r;
    EXPECT_TRUE(contains(r, "(--comm-timeout 0.5)")) << r;
    EXPECT_TRUE(contains(r, fmt::format("rank {} did not answer", late))) << r;
    for (int other = 0; other < late; ++other)
      if (other != mpi.rank()) EXPECT_TRUE(contains(r, fmt::format("rank {} is waiting in R9 allreduce", other))) << r;
  }
  mpi.barrier();
}

TEST(CommDeadline, MpiGradientBackendReportsTheLateReduction) {
  MpiContext& mpi = test::mpi();
  if (mpi.size() < 2) GTEST_SKIP() << "needs a late rank and a waiting one";
  const int late = mpi.size() - 1;
  std::vector<std::string> reports;
  {
    RecordedTimeouts recorded(mpi, 0.5);
    auto comm = make_grad_comm(CommBackend::kMpi, mpi);
    if (mpi.rank() == late) std::this_thread::sleep_for(std::chrono::seconds(3));
    torch::Tensor t = torch::ones({4});
    comm->allreduce_sum(t)->wait();
    EXPECT_TRUE(torch::equal(t, torch::full({4}, static_cast<float>(mpi.size()))));
    reports = recorded.reports();
  }
  if (mpi.rank() == late) {
    EXPECT_TRUE(reports.empty()) << reports.front();
  } else {
    ASSERT_EQ(reports.size(), 1u);
    const std::string& r = reports.front();
    EXPECT_TRUE(contains(r, fmt::format("rank {}: gradient all-reduce #1 (4 values, mpi backend): no progress after",
                                        mpi.rank())))
        << r;
    EXPECT_TRUE(contains(r, "(--comm-timeout 0.5)")) << r;
    EXPECT_TRUE(contains(r, fmt::format("rank {} did not answer", late))) << r;
    for (int other = 0; other < late; ++other)
      if (other != mpi.rank())
        EXPECT_TRUE(contains(r, fmt::format("rank {} is waiting in gradient all-reduce #1", other))) << r;
  }
  mpi.barrier();
}

}  // namespace
}  // namespace mtdnn::comm
