// Threads that match the cores a rank may use: its CPU affinity (mpirun binds ranks to
// cores), at most its share of the node, and a warning when asked for more.
#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <limits>
#include <string>

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include "first_cpu_only.h"
#include "worker/cpu_runtime.h"

namespace mtdnn::worker {
namespace {

TEST(CpuRuntime, UsableCoresFollowTheAffinityMask) {
  const int before = usable_cores();
  {
    test::FirstCpuOnly pinned;
    EXPECT_EQ(before, CPU_COUNT(&pinned.saved()));
    EXPECT_EQ(usable_cores(), 1);
  }
  EXPECT_EQ(usable_cores(), before);
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

// Every intra-op thread reads and writes subnormals as zero after configure_cpu_runtime:
// Adam's moments of unused embedding rows decay into that range, where arithmetic is about a
// hundred times slower.
TEST(CpuRuntime, SubnormalsAreFlushedOnEveryIntraOpThread) {
  const int threads_before = at::get_num_threads();
  const std::string description = configure_cpu_runtime({2});
  std::atomic<int> flushed{0}, chunks{0};
  at::parallel_for(0, 2, 1, [&](int64_t, int64_t) {
    volatile float tiny = std::numeric_limits<float>::denorm_min() * 4;
    volatile float half = tiny * 0.5f;  // a subnormal result unless flushed
    chunks += 1;
    if (half == 0.0f) flushed += 1;
  });
  // Leave the rest of this test binary as it was.
  at::globalContext().setFlushDenormal(false);
  at::parallel_for(0, 2, 1, [](int64_t, int64_t) { at::globalContext().setFlushDenormal(false); });
  at::set_num_threads(threads_before);
  EXPECT_NE(description.find("subnormals flushed to zero"), std::string::npos) << description;
  EXPECT_EQ(chunks.load(), 2);
  EXPECT_EQ(flushed.load(), chunks.load()) << description;
}

}  // namespace
}  // namespace mtdnn::worker
