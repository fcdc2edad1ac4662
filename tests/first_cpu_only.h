// Pinning the calling thread to one CPU for the length of a test, for the tests of what
// follows a rank's CPU affinity (mpirun binds ranks to cores).
#pragma once

#include <sched.h>

#include <gtest/gtest.h>

namespace mtdnn::test {

// While alive, the calling thread may run on the first CPU of its affinity mask only; the
// mask is restored on destruction, also when the test throws.
class FirstCpuOnly {
 public:
  FirstCpuOnly() {
    EXPECT_EQ(sched_getaffinity(0, sizeof(saved_), &saved_), 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &saved_)) {
        CPU_SET(cpu, &one);
        break;
      }
    EXPECT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  }
  ~FirstCpuOnly() { sched_setaffinity(0, sizeof(saved_), &saved_); }
  FirstCpuOnly(const FirstCpuOnly&) = delete;
  FirstCpuOnly& operator=(const FirstCpuOnly&) = delete;

  // The mask before.
  const cpu_set_t& saved() const { return saved_; }

 private:
  cpu_set_t saved_;
};

}  // namespace mtdnn::test
