// Threads that match the cores a rank may use: its CPU affinity (mpirun binds ranks to
// cores), at most its share of the node, and a warning when asked for more.
#include <gtest/gtest.h>
#include <sched.h>

#include <string>

#include "worker/cpu_runtime.h"

namespace mtdnn::worker {
namespace {

TEST(CpuRuntime, UsableCoresFollowTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  EXPECT_EQ(usable_cores(), CPU_COUNT(&saved));
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &saved)) {
      CPU_SET(cpu, &one);
      break;
    }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  EXPECT_EQ(usable_cores(), 1);
  ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
}

TEST(CpuRuntime, RankThreadsAreTheUsableCoresAtMostTheNodeShare) {
  EXPECT_EQ(rank_threads(3, 1, 2, 1), 3);   // asked for: as asked
  EXPECT_EQ(rank_threads(0, 1, 2, 1), 1);   // mpirun -np 1 binds to one core of two
  EXPECT_EQ(rank_threads(0, 2, 2, 1), 2);   // unbound: the node's cores
  EXPECT_EQ(rank_threads(0, 16, 16, 4), 4); // four unbound ranks share the node
  EXPECT_EQ(rank_threads(0, 4, 16, 2), 4);  // srun --cpus-per-task 4
  EXPECT_EQ(rank_threads(0, 1, 2, 3), 1);   // more ranks than cores: still one thread
}

TEST(CpuRuntime, MoreThreadsThanUsableCoresNamesTheFix) {
  EXPECT_EQ(thread_binding_warning(2, 2, 2), "");
  EXPECT_EQ(thread_binding_warning(1, 2, 1), "");  // two ranks on two cores, each bound to its own
  const std::string w = thread_binding_warning(2, 1, 2);
  EXPECT_NE(w.find("2 intra-op threads but this rank may run on 1 core(s)"), std::string::npos) << w;
  EXPECT_NE(w.find("--bind-to none"), std::string::npos) << w;
  EXPECT_NE(w.find("--cpus-per-task"), std::string::npos) << w;
  // mpirun -np 1 binds the rank to one of two cores: say so, with the fix.
  const std::string bound = thread_binding_warning(1, 1, 2);
  EXPECT_NE(bound.find("this rank may run on 1 core(s) (its CPU affinity) of the 2"), std::string::npos) << bound;
  EXPECT_NE(bound.find("--bind-to none"), std::string::npos) << bound;
}

}  // namespace
}  // namespace mtdnn::worker
