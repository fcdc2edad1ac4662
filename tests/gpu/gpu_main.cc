// The GPU tests' main: without CUDA (a CPU LibTorch, or no GPU visible) the whole binary is
// skipped with exit status 77, which ctest reports as skipped (label gpu).
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (!torch::cuda::is_available()) {
    std::printf("skipped: no CUDA (this LibTorch has none, or no GPU is visible)\n");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
